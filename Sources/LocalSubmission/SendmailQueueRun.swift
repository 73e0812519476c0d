/// -q and what may follow it in the same argument (never the next one:
/// `-q` alone is a whole request): nothing, an interval (`-q30m`), `f`
/// (foreground, which is how Postern runs it anyway), or a selector
/// `I`, `R` or `S` with a substring. Several selectors add up, as in
/// Sendmail. Negated selectors (`-q!R…`) and quarantine (`-qQ`, `-qL`) are
/// refused.
enum SendmailQueueRun {
    static func apply(_ rest: String, to invocation: inout SendmailInvocation) throws(SendmailUsageError) {
        var selection: QueueRunSelection
        if case .runQueue(let previous) = invocation.mode {
            selection = previous
        } else {
            selection = QueueRunSelection()
        }
        let scalars = rest.unicodeScalars
        let argument = String(scalars.dropFirst())
        switch scalars.first {
        case nil, "f":
            guard argument.isEmpty else { throw SendmailUsageError("unsupported queue run -q\(rest)") }
        case "I": selection.queueIDs.append(try selector(argument, rest))
        case "R": selection.recipients.append(try selector(argument, rest))
        case "S": selection.senders.append(try selector(argument, rest))
        case "p":
            if !argument.isEmpty { try checkInterval(argument, rest) }
            selection.interval = argument.isEmpty ? "persistent" : argument
        case "!": throw SendmailUsageError("negated queue selection -q\(rest) is not supported")
        default:
            try checkInterval(rest, rest)
            selection.interval = rest
        }
        invocation.mode = .runQueue(selection)
    }

    private static func selector(_ value: String, _ rest: String) throws(SendmailUsageError) -> String {
        guard !value.isEmpty, Bytes.hasNoControls(value), value.utf8.count <= SendmailArguments.maxValueLength else {
            throw SendmailUsageError("-q\(rest.unicodeScalars.first.map(String.init) ?? "") needs a substring")
        }
        return value
    }

    /// `1h30m`: digits with an optional unit (s, m, h, d, w) each.
    private static func checkInterval(_ text: String, _ rest: String) throws(SendmailUsageError) {
        let units: Set<UInt8> = Set("smhdw".utf8)
        var sawDigit = false
        for byte in text.utf8 {
            if Bytes.isDigit(byte) {
                sawDigit = true
            } else if units.contains(byte) && sawDigit {
                sawDigit = false
            } else {
                throw SendmailUsageError("unsupported queue run -q\(rest)")
            }
        }
        guard let last = text.utf8.last, Bytes.isDigit(last) || units.contains(last) else {
            throw SendmailUsageError("unsupported queue run -q\(rest)")
        }
    }
}
