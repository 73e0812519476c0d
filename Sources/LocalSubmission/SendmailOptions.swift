/// Sendmail's configuration options on the command line: `-oX value` by
/// letter, `-O Name=value` by name. Three mean something to a submission
/// and are mapped (IgnoreDots `i`, ErrorMode `e`, DeliveryMode `d`); the
/// rest, and a value these three do not know, are noted and ignored, as
/// Sendmail warns and goes on: an option never makes the command fail.
enum SendmailOptions {
    /// `-oem`: the option letter, then its value.
    static func short(_ text: String, into invocation: inout SendmailInvocation) {
        let letter = text.unicodeScalars.first.map(String.init) ?? ""
        apply(letter, String(text.unicodeScalars.dropFirst()), spelled: "-o\(text)", into: &invocation)
    }

    /// `-O IgnoreDots=true`; names in any case, as Sendmail compares them.
    static func long(_ text: String, into invocation: inout SendmailInvocation) {
        let parts = text.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
        let letter = longNames[parts[0].trimmingBlanks.lowercased()] ?? ""
        let value = parts.count > 1 ? parts[1].trimmingBlanks : ""
        apply(letter, value, spelled: "-O \(text)", into: &invocation)
    }

    /// The long names of the options that are mapped, and their letters.
    private static let longNames = ["ignoredots": "i", "errormode": "e", "deliverymode": "d"]

    private static func apply(
        _ letter: String, _ value: String, spelled: String, into invocation: inout SendmailInvocation
    ) {
        switch letter {
        case "i": ignoreDots(value, spelled: spelled, into: &invocation)
        case "e": errorMode(value, spelled: spelled, into: &invocation)
        case "d": deliveryMode(value, spelled: spelled, into: &invocation)
        default: invocation.notes.append("sendmail: option \(spelled) ignored")
        }
    }

    /// Sendmail's booleans: empty, or a word starting with t or y, is true;
    /// f or n is false. Anything else is noted, not guessed.
    static func ignoreDots(_ value: String, spelled: String, into invocation: inout SendmailInvocation) {
        switch value.unicodeScalars.first {
        case nil, "t", "T", "y", "Y": invocation.ignoreDots = true
        case "f", "F", "n", "N": invocation.ignoreDots = false
        default: invocation.notes.append("sendmail: option \(spelled) ignored: not a boolean")
        }
    }

    /// m, p, q, e; w (write to the terminal) is taken as m.
    static func errorMode(_ value: String, spelled: String, into invocation: inout SendmailInvocation) {
        switch value.lowercased().unicodeScalars.first {
        case "m", "w": invocation.errorMode = .mail
        case "p": invocation.errorMode = .print
        case "q": invocation.errorMode = .quiet
        case "e": invocation.errorMode = .mailAndExitZero
        default: invocation.notes.append("sendmail: option \(spelled) ignored: unknown error mode")
        }
    }

    /// b, i, q; d (defer) is taken as q.
    static func deliveryMode(_ value: String, spelled: String, into invocation: inout SendmailInvocation) {
        switch value.lowercased().unicodeScalars.first {
        case "b": invocation.deliveryMode = .background
        case "i": invocation.deliveryMode = .interactive
        case "q", "d": invocation.deliveryMode = .queue
        default: invocation.notes.append("sendmail: option \(spelled) ignored: unknown delivery mode")
        }
    }
}
