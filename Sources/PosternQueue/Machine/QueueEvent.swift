import PosternCore
import PosternIPC

/// Everything that happens to the queue, as the driver tells it to
/// `QueueMachine.handle(_:now:)`: requests from peers, answers to what the
/// machine asked for, the outcomes of I/O it ordered, the timer, the
/// administrator.
enum QueueEvent {
    // MARK: the spool

    /// The spool was read at start: every valid message, and what was
    /// removed or left (one log line each).
    case recovered([Envelope], problems: [String])
    /// The spool's file system has this many bytes free (`QueueMinFree`).
    case spoolSpaceMeasured(freeBytes: UInt64, forceReport: Bool)
    /// The listener was told this figure (`reportSpoolSpace` succeeded).
    case spoolSpaceReported(freeBytes: UInt64)

    // MARK: the listener's requests

    case openRequested(Requester)
    /// The outcome of `createSpoolFile`.
    case spoolFileCreated(Requester, Result<(id: QueueID, fd: Int32), SpoolError>)
    case commitRequested(CommitRequest, Requester)
    /// A `commit` batch is done (every request answered): these messages
    /// are on disk.
    case commitBatchFinished(committed: [Envelope])
    case abortRequested(QueueID, from: Handle)
    /// A request the queue does not serve (or not from that peer).
    case unsupportedRequest(Requester)

    // MARK: peers

    /// A channel to a peer role (a new one replaces the old).
    case peerAttached(Role, Handle)
    /// A channel reached its end: the peer died or was replaced.
    case peerClosed(Role, Handle)

    // MARK: delivery

    /// The timer, every second.
    case tick
    /// `dispatch` could not open the message's data file.
    case messageDataUnreadable(QueueID, SpoolError)
    /// One part of a dispatch (local or relay) answered, or was lost.
    case partFinished(QueueID, Role, DeliveryAnswer)
    /// The lookup's answer to `lookUp`.
    case lookedUp(LookupTag, LookupAnswer)
    /// The outcome of `writeNotice`.
    case noticeWritten(tag: UInt64, NoticeWriteResult)

    // MARK: administration

    /// A command on a control socket; answered by `answer(reply, text)`.
    case control(QueueCommand, access: ControlSocketAccess, who: String, reply: Handle)
    /// A reload's configuration.
    case reloaded(QueueSettings)
    /// SIGTERM: stop dispatching, let deliveries and commits finish.
    case drainRequested
    /// While draining, every 50 ms; `deadlinePassed` once ShutdownTimeout is up.
    case drainCheck(deadlinePassed: Bool)
}

/// How a delivery process answered one part of a dispatch.
enum DeliveryAnswer: Equatable {
    /// Its outcomes, one per recipient it was asked about.
    case outcomes([RecipientOutcome])
    /// It refused the whole job.
    case rejected(SMTPReply)
    /// Something that is no answer to this job.
    case nonsense
    /// Its channel closed or failed before it answered: it may have
    /// delivered (an interrupted attempt).
    case channelLost
}

/// What the lookup said about an address, asked as a RCPT from a client
/// that may relay (`MAILER-DAEMON` on 127.0.0.1).
enum LookupAnswer: Equatable {
    /// Delivered here, to this user.
    case local(user: String)
    /// Relayed, to this address (the relay tricks taken off).
    case remote(address: String)
    /// Refused permanently: the reply as text ("550 5.1.1 …").
    case refused(String)
    /// No answer now (no lookup, a temporary refusal, a failure).
    case unavailable
}

/// Which question a lookup answer belongs to.
enum LookupTag: Hashable {
    /// Where a notice goes (`NoticeTask`).
    case notice(UInt64)
    /// One remote member of an expansion (`ExpansionRouting`).
    case expansion(UInt64, address: String)
}

/// How writing a notice ended; the errors are logged by the machine.
enum NoticeWriteResult: Equatable {
    /// Committed to the spool as this message.
    case queued(Envelope)
    /// No spool file: try again later.
    case notCreated(SpoolError)
    /// It cannot be composed, now or ever: do not try again.
    case notComposed(DSNComposeError)
    /// Writing or committing it failed: try again later.
    case notQueued(SpoolError)
}
