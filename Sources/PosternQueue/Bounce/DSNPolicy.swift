import PosternCore

/// What happened to a message that a notice may be owed for.
public enum DSNEvent: String, Equatable, Sendable {
    /// Some recipients failed permanently, or expired in the queue.
    case failed
    /// Some recipients are still being retried after the warning time.
    case delayed
    /// Some recipients were delivered (reported only on NOTIFY=SUCCESS).
    case delivered

    /// The RFC 3464 `Action:` value of every recipient such a notice reports.
    public var action: String { rawValue }

    /// The recipient state that this event reports on.
    var reportedState: Recipient.State {
        switch self {
        case .failed: return .failed
        case .delayed: return .pending
        case .delivered: return .delivered
        }
    }
}

/// Sendmail's PrivacyOptions that shape notices. Plain booleans so that the
/// bounce code does not depend on how the configuration spells them.
public struct DSNPrivacy: Equatable, Sendable {
    /// `noreceipts`: no success notices at all, whatever NOTIFY asked.
    public var noReceipts: Bool
    /// `nobodyreturn`: a notice never carries the original body, only its
    /// header section.
    public var noBodyReturn: Bool
    /// `noactualrecipient`: never say where an address was resolved or
    /// expanded to (Sendmail's `X-Actual-Recipient:`).
    public var noActualRecipient: Bool

    public init(noReceipts: Bool = false, noBodyReturn: Bool = false, noActualRecipient: Bool = false) {
        self.noReceipts = noReceipts
        self.noBodyReturn = noBodyReturn
        self.noActualRecipient = noActualRecipient
    }
}

/// Why no notice goes out; for the log line the caller writes.
public enum DSNSilenceReason: Equatable, Sendable {
    /// No recipient is in the state the event is about.
    case nothingToReport
    /// Every candidate recipient asked not to be told (NOTIFY).
    case notRequested
    /// Success notices are disabled by `noreceipts`.
    case receiptsDisabled
    /// The message has the null sender: only its failures are ever
    /// reported, and only to the postmaster.
    case nullSender
}

/// A notice to send: to whom, about which recipients of the original.
public struct DSNNotice: Equatable, Sendable {
    public var event: DSNEvent
    /// The envelope recipient and `To:` of the notice: the original sender,
    /// or the double-bounce address.
    public var recipient: String
    /// Indices into the original envelope's recipients, in envelope order.
    public var reportedRecipients: [Int]
    /// A failed null-sender message reported to the postmaster. The caller
    /// must remember this with the injected message (so that its own
    /// failure is dropped, not reported again).
    public var isDoubleBounce: Bool

    public init(event: DSNEvent, recipient: String, reportedRecipients: [Int], isDoubleBounce: Bool) {
        self.event = event
        self.recipient = recipient
        self.reportedRecipients = reportedRecipients
        self.isDoubleBounce = isDoubleBounce
    }
}

/// The policy's answer for one message and one event.
public enum DSNDecision: Equatable, Sendable {
    /// Nothing to send.
    case silent(DSNSilenceReason)
    /// A notice to the original sender.
    case notifySender(DSNNotice)
    /// The original had the null sender and failed: one copy to the
    /// postmaster, which is itself marked as a double bounce.
    case notifyPostmaster(DSNNotice)
    /// A double bounce failed: drop it and log it. Reporting it would start
    /// a loop. The indices are the failed recipients, for the log.
    case dropDoubleBounce(failedRecipients: [Int])
}

/// Who is told about what (RFC 3461 §4.1 and §6.2, Sendmail practice).
///
/// - Failures are reported unless NOTIFY=NEVER, or NOTIFY was given without
///   FAILURE.
/// - Delay warnings go out when NOTIFY contains DELAY or was not given at
///   all (Sendmail's default sends them).
/// - Success notices only with NOTIFY=SUCCESS, and never under
///   `noreceipts`.
/// - A message with the null sender is never answered: its failures go once
///   to the postmaster (a double bounce, whatever its recipients' NOTIFY
///   said: the postmaster copy is not a notice the sender asked for), and
///   a failed double bounce is dropped. Its delays and successes are not
///   reported to anyone.
public struct DSNPolicy: Equatable, Sendable {
    public var privacy: DSNPrivacy
    /// Sendmail's DoubleBounceAddress: where failed bounces go.
    public var doubleBounceAddress: String

    public init(privacy: DSNPrivacy = DSNPrivacy(), doubleBounceAddress: String = "postmaster") {
        self.privacy = privacy
        self.doubleBounceAddress = doubleBounceAddress
    }

    /// - Parameter isDoubleBounce: the message is a double bounce this
    ///   queue injected (the caller keeps that flag with the message).
    public func decide(_ envelope: Envelope, event: DSNEvent, isDoubleBounce: Bool = false) -> DSNDecision {
        let candidates = envelope.recipients.indices.filter { envelope.recipients[$0].state == event.reportedState }
        guard !candidates.isEmpty else { return .silent(.nothingToReport) }

        if envelope.sender.isEmpty {
            guard event == .failed else { return .silent(.nullSender) }
            // A null-sender message addressed only to the postmaster is
            // treated as a double bounce even without the flag: should the
            // flag ever be lost, reporting it would send the postmaster a
            // bounce about a bounce to the postmaster, forever.
            if isDoubleBounce || candidates.allSatisfy({ isPostmaster(envelope.recipients[$0].address) }) {
                return .dropDoubleBounce(failedRecipients: candidates)
            }
            return .notifyPostmaster(
                DSNNotice(
                    event: .failed, recipient: doubleBounceAddress, reportedRecipients: candidates,
                    isDoubleBounce: true))
        }

        if event == .delivered && privacy.noReceipts { return .silent(.receiptsDisabled) }
        let reported = candidates.filter { Self.wantsNotice(envelope.recipients[$0].notify, for: event) }
        guard !reported.isEmpty else { return .silent(.notRequested) }
        return .notifySender(
            DSNNotice(event: event, recipient: envelope.sender, reportedRecipients: reported, isDoubleBounce: false))
    }

    /// RFC 3461 §4.1 with the absent-NOTIFY default of FAILURE and DELAY.
    /// NEVER never combines with another keyword, so it needs no case of
    /// its own: it contains none of the others.
    public static func wantsNotice(_ notify: DSNNotify, for event: DSNEvent) -> Bool {
        switch event {
        case .failed: return notify.isEmpty || notify.contains(.failure)
        case .delayed: return notify.isEmpty || notify.contains(.delay)
        case .delivered: return notify.contains(.success)
        }
    }

    /// `postmaster`, `postmaster@any.domain` (RFC 5321 §4.5.1: the local
    /// part is case-insensitive) or the configured double-bounce address.
    private func isPostmaster(_ address: String) -> Bool {
        let lowered = address.lowercased()
        if lowered == doubleBounceAddress.lowercased() { return true }
        let local = lowered.split(separator: "@", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        return local == "postmaster"
    }
}
