/// A record taken apart: its queue id (the daemon writes `QID: ` first on
/// every line about a message), its level, and its event.
public struct ClassifiedRecord: Sendable {
    public var record: LogRecord
    public var queueID: String?
    public var level: LogLevel
    /// The text after the queue id and the level.
    public var body: Substring
    public var event: LogEvent

    public init(_ record: LogRecord) {
        self.record = record
        var body = record.text[...]
        queueID = QueueIDShape.leading(&body)
        level = .info
        for (prefix, level) in Self.levels where body.utf8.starts(with: prefix.utf8) {
            body = body.dropFirst(prefix.utf8.count)
            self.level = level
            break
        }
        self.body = body
        event = EventClassifier.event(record.role, body, hasQueueID: queueID != nil)
    }

    private static let levels: [(String, LogLevel)] = [
        ("warning: ", .warning), ("error: ", .error), ("critical: ", .critical),
    ]
}

/// Queue ids: 12 characters of Crockford base32 (MailVocabulary's QueueID).
enum QueueIDShape {
    static func isQueueID<S: StringProtocol>(_ text: S) -> Bool {
        text.utf8.count == 12 && text.utf8.allSatisfy(isAlphabet)
    }

    static func isAlphabet(_ b: UInt8) -> Bool {
        switch b {
        case 0x30...0x39: return true
        case 0x41...0x5A: return b != 0x49 && b != 0x4C && b != 0x4F && b != 0x55  // no I, L, O, U
        default: return false
        }
    }

    /// Takes `QID: ` off the front of `text` and returns the id.
    static func leading(_ text: inout Substring) -> String? {
        let u = text.utf8
        guard u.count >= 14 else { return nil }
        let idEnd = u.index(u.startIndex, offsetBy: 12)
        guard u[u.startIndex..<idEnd].allSatisfy(isAlphabet), u[idEnd] == 0x3A, u[u.index(after: idEnd)] == 0x20
        else { return nil }
        let id = String(text[text.startIndex..<idEnd])
        text = text[u.index(idEnd, offsetBy: 2)...]
        return id
    }
}
