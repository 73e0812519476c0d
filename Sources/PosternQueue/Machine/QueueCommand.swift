import PosternCore

/// One control command line.
enum QueueCommand: Equatable {
    case list
    case count
    case show(QueueID)
    case flush(QueueID?)
    case hold(QueueID)
    case release(QueueID)
    case delete(QueueID)
    case invalid(String)

    static let usage = "list | count | show ID | flush [ID] | hold ID | release ID | delete ID"

    static func parse(_ line: String) -> QueueCommand {
        let words = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        guard let verb = words.first?.lowercased() else { return .invalid("empty command; \(usage)") }
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
