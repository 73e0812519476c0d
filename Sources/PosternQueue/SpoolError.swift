import PosternCore

#if canImport(Glibc)
    import Glibc
#endif

/// Why a spool operation failed. A failed `commit` means the client must not
/// get its 250, so the cases say enough for the log line that goes with the 451.
public enum SpoolError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A system call failed; `name` is relative to the spool root.
    case system(operation: String, name: String, errno: Int32)
    /// createData kept drawing ids that were taken: something is wrong with
    /// the random source or the directory, and looping forever would hide it.
    case noFreeQueueID
    /// The descriptor given to commit is not the spool's `ID.d` for that id,
    /// so committing it would attach the envelope to data it does not describe.
    case dataMismatch(QueueID)
    /// commit of a message that is already queued.
    case alreadyCommitted(QueueID)
    /// update of a message whose control file is gone: rewriting it would
    /// bring back a message that was already removed.
    case noSuchMessage(QueueID)
    case controlFile(QueueID, ControlFileError)

    public var description: String {
        switch self {
        case .system(let operation, let name, let code):
            return "\(operation) \(name): \(SpoolError.errnoText(code))"
        case .noFreeQueueID:
            return "no free queue id"
        case .dataMismatch(let id):
            return "queue id=\(id): data descriptor is not the message's data file"
        case .alreadyCommitted(let id):
            return "queue id=\(id): already committed"
        case .noSuchMessage(let id):
            return "queue id=\(id): no such message"
        case .controlFile(let id, let error):
            return "queue id=\(id): control file: \(error)"
        }
    }

    /// The file system is full (or the queue's quota is): the client gets
    /// 452 4.3.1, not a generic temporary failure.
    public var isOutOfSpace: Bool {
        if case .system(_, _, let code) = self { return code == ENOSPC || code == EDQUOT }
        return false
    }

    static func errnoText(_ code: Int32) -> String {
        guard let text = strerror(code) else { return "errno \(code)" }
        return String(cString: text) + " (errno \(code))"
    }
}
