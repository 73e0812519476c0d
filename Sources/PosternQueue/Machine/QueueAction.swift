import Logging
import PosternCore
import PosternIPC

/// What `QueueMachine` asks its driver to do, in order. The machine has
/// already updated its own state for each; an action whose outcome matters
/// is answered with the event named in its comment.
enum QueueAction: Equatable {
    /// Write this line to the log.
    case log(QueueLogLine)
    /// Rewrite the message's control file; `durable` fsyncs it (a notice
    /// queued, a recipient reported) rather than risk a repeat.
    case persist(Envelope, durable: Bool)
    /// Remove the message from the spool (control file, then data).
    case remove(QueueID)
    /// Open the message's data once and hand each part to its delivery
    /// process; answered by `partFinished` per part, or by
    /// `messageDataUnreadable`.
    case dispatch(DispatchOrder)
    /// Ask the lookup about an address; answered by `lookedUp`.
    case lookUp(address: String, LookupTag)
    /// Compose a notice, write it under a new queue id and commit it
    /// durably; answered by `noticeWritten`.
    case writeNotice(NoticeOrder)
    /// Answer a listener's request with this refusal.
    case reject(Requester, SMTPReply)
    /// Create a spool file for a new message; answered by `spoolFileCreated`.
    case createSpoolFile(Requester)
    /// Answer `openMessage` with the new spool file (`messageOpened` and
    /// the descriptor).
    case handOver(Requester, QueueID, fd: Int32)
    /// Make these messages durable together (group commit), answer each
    /// request, close each descriptor; answered by `commitBatchFinished`.
    case commit([PendingCommit])
    /// Close an upload's descriptor and remove its files, unless committed.
    case discardUpload(QueueID, fd: Int32)
    /// Measure the spool's free space; answered by `spoolSpaceMeasured`.
    case measureSpoolSpace(forceReport: Bool)
    /// Tell the listener the spool's free space; `spoolSpaceReported` when sent.
    case reportSpoolSpace(freeBytes: UInt64)
    /// Answer a control command with this text.
    case answer(Handle, String)
    /// Drained: exit the process.
    case exit
}

/// A log line as a value: the level, the text, and the queue id it is
/// about (written first, `ID: text`, as on every line about a message).
struct QueueLogLine: Equatable {
    var level: Logger.Level
    var text: String
    var queueID: QueueID?

    static func info(_ text: String, _ queueID: QueueID? = nil) -> QueueLogLine {
        QueueLogLine(level: .info, text: text, queueID: queueID)
    }

    static func warning(_ text: String, _ queueID: QueueID? = nil) -> QueueLogLine {
        QueueLogLine(level: .warning, text: text, queueID: queueID)
    }

    static func error(_ text: String, _ queueID: QueueID? = nil) -> QueueLogLine {
        QueueLogLine(level: .error, text: text, queueID: queueID)
    }
}

/// One message's delivery attempt: a part per delivery process, all
/// sharing one read-only descriptor of the data.
struct DispatchOrder: Equatable {
    var queueID: QueueID
    var parts: [DeliveryPart]
}

struct DeliveryPart: Equatable {
    /// `.local` or `.relay`.
    var role: Role
    var job: DeliveryJob
}

/// A commit waiting for the committer: the listener's request, the queue's
/// own descriptor of the data, and whom to answer.
struct PendingCommit: Equatable, Sendable {
    var request: CommitRequest
    var fd: Int32
    var requester: Requester
}
