import PosternCore

/// One control command line.
enum QueueCommand: Equatable {
    case list
    case count
    case show(QueueID)
    case flush(QueueID?)
    /// Sendmail's -qI, -qR, -qS: a queue run of the messages selected.
    case flushWhere(QueueSelection)
    case hold(QueueID)
    case release(QueueID)
    case delete(QueueID)
    case invalid(String)

    /// The command's name, for the log.
    var verb: String {
        switch self {
        case .list: return "list"
        case .count: return "count"
        case .show: return "show"
        case .flush: return "flush"
        case .flushWhere: return "flush-where"
        case .hold: return "hold"
        case .release: return "release"
        case .delete: return "delete"
        case .invalid: return "an invalid command"
        }
    }

    static let usage =
        "list | count | show ID | flush [ID] | flush-where id:S|rcpt:S|from:S... | hold ID | release ID | delete ID"

    static func parse(_ line: String) -> QueueCommand {
        let words = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        guard let verb = words.first?.lowercased() else { return .invalid("empty command; \(usage)") }
        if verb == "flush-where" { return QueueSelection.parse(words.dropFirst()).command(QueueCommand.flushWhere) }
        let id: QueueID? = words.count == 2 ? QueueID(words[1].uppercased()) : nil
        if words.count == 2 && id == nil { return .invalid("\(words[1].prefix(40)) is not a queue id") }
        switch (verb, words.count, id) {
        case ("list", 1, _): return .list
        case ("count", 1, _): return .count
        case ("flush", 1, _): return .flush(nil)
        case ("flush", 2, let id?): return .flush(id)
        case ("show", 2, let id?): return .show(id)
        case ("hold", 2, let id?): return .hold(id)
        case ("release", 2, let id?): return .release(id)
        case ("delete", 2, let id?): return .delete(id)
        default: return .invalid("unknown command; \(usage)")
        }
    }
}

/// Which messages a selective queue run takes (Sendmail's -qI, -qR and
/// -qS): each list is of case-insensitive substrings, any of which may
/// match; the lists must all match (an empty one matches everything).
struct QueueSelection: Equatable {
    var ids: [String] = []
    var recipients: [String] = []
    var senders: [String] = []

    /// Words `id:S`, `rcpt:S`, `from:S`, at least one.
    static func parse(_ words: ArraySlice<String>) -> Result<QueueSelection, QueueCommandError> {
        var selection = QueueSelection()
        for word in words {
            let parts = word.split(separator: ":", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[1].isEmpty, parts[1].count <= 200 else {
                return .failure(QueueCommandError("\(word.prefix(40)) is not id:S, rcpt:S or from:S"))
            }
            switch parts[0].lowercased() {
            case "id": selection.ids.append(parts[1].lowercased())
            case "rcpt": selection.recipients.append(parts[1].lowercased())
            case "from": selection.senders.append(parts[1].lowercased())
            default: return .failure(QueueCommandError("\(word.prefix(40)) is not id:S, rcpt:S or from:S"))
            }
        }
        guard !words.isEmpty else { return .failure(QueueCommandError("flush-where needs a selection")) }
        return .success(selection)
    }

    func matches(_ envelope: Envelope) -> Bool {
        func any(_ subs: [String], _ text: String) -> Bool {
            subs.isEmpty || subs.contains { text.lowercased().contains($0) }
        }
        let pending = envelope.recipients.filter { $0.state == .pending }.map(\.address)
        return any(ids, envelope.queueID.value) && any(senders, envelope.sender)
            && (recipients.isEmpty || pending.contains { any(recipients, $0) })
    }
}

struct QueueCommandError: Error, Equatable {
    var reason: String
    init(_ reason: String) { self.reason = reason }
}

extension Result where Success == QueueSelection, Failure == QueueCommandError {
    /// The command for a selection, or `invalid` with the reason.
    func command(_ make: (QueueSelection) -> QueueCommand) -> QueueCommand {
        switch self {
        case .success(let selection): return make(selection)
        case .failure(let error): return .invalid(error.reason)
        }
    }
}
