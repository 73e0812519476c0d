/// `--trace ID`: every line about one message, from every process, and
/// about the notices it caused, in time order.
///
/// Two passes over the same input. The first learns the queue ids: the
/// one asked for, or those of lines that name the address or Message-ID
/// asked for; then each notice whose `queued` line says `notice=… about
/// QID` of a known id (a notice about a notice too, as they come in time
/// order). The second keeps every record whose queue id is known or whose
/// text names what was asked for. Only the kept lines are held.
public struct MessageTrace: Sendable {
    public let target: String
    public private(set) var queueIDs: Set<String> = []
    public private(set) var lines: [ClassifiedRecord] = []
    private let needle: String

    /// A queue id, a Message-ID (`<…>`) or an address (`<…>` optional).
    public init(_ target: String) {
        self.target = target
        if QueueIDShape.isQueueID(target) {
            queueIDs = [target]
            needle = target
        } else if target.hasPrefix("<") && target.hasSuffix(">") && target.utf8.count > 2 {
            needle = target  // a Message-ID, or an address as the log writes it
        } else {
            needle = "<\(target)>"
        }
    }

    private func mentions(_ c: ClassifiedRecord) -> Bool {
        c.record.text[...].find(needle) != nil
    }

    /// Pass one.
    public mutating func learn(_ c: ClassifiedRecord) {
        guard let id = c.queueID else { return }
        if queueIDs.contains(id) { return }
        if mentions(c) {
            queueIDs.insert(id)
        } else if case .noticeQueued(_, let about) = c.event, queueIDs.contains(about) {
            queueIDs.insert(id)
        }
    }

    /// Pass two.
    public mutating func collect(_ c: ClassifiedRecord) {
        if let id = c.queueID, queueIDs.contains(id) {
            lines.append(c)
        } else if mentions(c) {
            lines.append(c)
        }
    }

    /// The kept lines, oldest first (stable: lines of one second keep
    /// their order in the log).
    public var ordered: [LogRecord] {
        lines.map(\.record).enumerated().sorted {
            $0.element.time != $1.element.time ? $0.element.time < $1.element.time : $0.offset < $1.offset
        }.map(\.element)
    }
}
