import PosternCore
import PosternIPC

/// What a notice's outcome leads to.
enum NoticePurpose: Equatable {
    /// `finish`: failures first, then successes, then the message goes.
    case finalFailures
    /// `finish`, after the failures (reported in this envelope).
    case finalSuccesses(Envelope)
    /// `reportFailuresNow`: the envelope is kept with the failures reported.
    case failuresNow
    /// `warnDelayed`: the message is marked `warned`.
    case delayWarning
}

/// What the notice step decided about a message.
enum NoticeOutcome: Equatable {
    /// Every notice it needed is queued (or none was needed).
    case done(Envelope)
    /// Not now (the lookup or the spool failed): try again later; the
    /// envelope carries what was reported so far.
    case later(Envelope)
}

/// One notice on its way: the policy's decision, waiting for the lookup
/// (the sender's route, then perhaps the postmaster's) and then the spool.
struct NoticeTask: Equatable {
    enum Stage: Equatable {
        /// Asking where the policy's notice goes.
        case resolving
        /// The sender was refused: asking where the postmaster copy goes.
        case escalating(DSNNotice)
        /// Being written, to this recipient.
        case writing(DSNNotice, to: Recipient)
    }

    var purpose: NoticePurpose
    /// The message it is about, as it was when the notice was decided.
    var envelope: Envelope
    var event: DSNEvent
    /// The policy's notice: the one whose recipients are marked reported.
    var notice: DSNNotice
    var stage: Stage

    /// The address being asked about.
    var address: String {
        if case .escalating(let escalated) = stage { return escalated.recipient }
        return notice.recipient
    }
}

/// A notice for the driver to write: compose it (it reads the original's
/// start from the spool), create and commit it under a new queue id.
struct NoticeOrder: Equatable {
    /// For `noticeWritten`.
    var tag: UInt64
    var notice: DSNNotice
    /// The message it reports on.
    var about: Envelope
    var recipient: Recipient
    var timing: DSNTiming
    var composer: DSNComposer
    /// Its arrival time.
    var now: Int64

    /// The notice's own envelope, once composed under `queueID`.
    func envelope(queueID: QueueID, message: DSNMessage) -> Envelope {
        var notification = Envelope(
            queueID: queueID, sender: "", recipients: [recipient], arrival: now, clientAddress: "127.0.0.1",
            clientHelo: composer.hostname, size: Int64(message.bytes.count), bodyType: message.bodyType,
            smtputf8: message.smtputf8)
        notification.notice = message.isDoubleBounce ? .doubleBounce : .dsn
        return notification
    }
}
