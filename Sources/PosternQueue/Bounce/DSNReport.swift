import PosternCore

/// The times a notice states, as RFC 5322 date strings: the composer has no
/// clock, so the queue passes them in (`RFC5322Date.format` turns its epoch
/// seconds into one).
public struct DSNTiming: Equatable, Sendable {
    /// The notice's own `Date:`.
    public var date: String
    /// `Arrival-Date:`, when the original was queued.
    public var arrivalDate: String
    /// `Last-Attempt-Date:` of every reported recipient; omitted when nil.
    public var lastAttemptDate: String?
    /// `Will-Retry-Until:` of a delay warning (when the message expires);
    /// omitted when nil and in every other kind of notice.
    public var willRetryUntil: String?

    public init(date: String, arrivalDate: String, lastAttemptDate: String? = nil, willRetryUntil: String? = nil) {
        self.date = date
        self.arrivalDate = arrivalDate
        self.lastAttemptDate = lastAttemptDate
        self.willRetryUntil = willRetryUntil
    }
}

/// One recipient of the original as a notice reports it.
public struct DSNRecipientReport: Equatable, Sendable {
    /// The address as the client gave it in RCPT TO: `Final-Recipient:`.
    /// It tells the sender nothing it did not already know.
    public var address: String
    /// ORCPT as `type;address`, or empty: `Original-Recipient:`.
    public var originalRecipient: String
    /// Where the address was resolved to when that differs from it (a local
    /// user, later an alias expansion), or empty: Sendmail's
    /// `X-Actual-Recipient:`, left out under `noactualrecipient`.
    public var actualRecipient: String
    /// The delivery result, e.g. `5.1.1 user unknown`.
    public var reason: String
    /// Whether `reason` is a remote server's reply (`Diagnostic-Code:`).
    public var diagnosticSource: DSNDiagnosticSource
    /// RFC 3464's Action when it is not the notice's own: `relayed` for a
    /// success handed to an MTA that did not take the DSN request on (we
    /// never saw the final delivery), `expanded` for an alias or .forward.
    public var action: String?

    public init(
        address: String, originalRecipient: String = "", actualRecipient: String = "", reason: String,
        diagnosticSource: DSNDiagnosticSource? = nil, action: String? = nil
    ) {
        self.address = address
        self.originalRecipient = originalRecipient
        self.actualRecipient = actualRecipient
        self.reason = reason
        self.diagnosticSource = diagnosticSource ?? DSNDiagnosticSource.guess(from: reason)
        self.action = action
    }
}

/// Everything one notice says, taken out of the envelope so that the
/// composer needs nothing else (and tests can build one by hand).
public struct DSNReport: Equatable, Sendable {
    public var event: DSNEvent
    /// `To:` and the notice's only envelope recipient.
    public var notifyAddress: String
    /// A failed null-sender message, reported to the postmaster.
    public var isDoubleBounce: Bool
    /// The original's queue id, for the administrator reading the notice.
    public var originalQueueID: QueueID
    /// The original's sender (empty for a double bounce).
    public var originalSender: String
    /// ENVID, decoded; empty when not given.
    public var envelopeID: String
    /// RET; nil when not given (which returns the whole message).
    public var returnContent: DSNReturn?
    public var timing: DSNTiming
    public var recipients: [DSNRecipientReport]

    public init(
        event: DSNEvent, notifyAddress: String, isDoubleBounce: Bool = false, originalQueueID: QueueID,
        originalSender: String, envelopeID: String = "", returnContent: DSNReturn? = nil, timing: DSNTiming,
        recipients: [DSNRecipientReport]
    ) {
        self.event = event
        self.notifyAddress = notifyAddress
        self.isDoubleBounce = isDoubleBounce
        self.originalQueueID = originalQueueID
        self.originalSender = originalSender
        self.envelopeID = envelopeID
        self.returnContent = returnContent
        self.timing = timing
        self.recipients = recipients
    }

    static func successAction(_ r: Recipient, event: DSNEvent) -> String? {
        guard event == .delivered else { return nil }
        if r.isRemote { return "relayed" }
        if r.lastResult.hasPrefix(DSNReport.expandedResultPrefix) { return "expanded" }
        return nil
    }

    /// How the queue words the result of a recipient an alias or a
    /// .forward replaced by others.
    public static let expandedResultPrefix = "2.0.0 expanded"

    /// The report of `notice` (from `DSNPolicy.decide`) on `envelope`.
    /// Indices the envelope does not have are skipped. The actual recipient
    /// of a local recipient is `user@hostname` when the user name differs
    /// from the address's local part.
    public init(notice: DSNNotice, envelope: Envelope, timing: DSNTiming, hostname: String) {
        let recipients = notice.reportedRecipients.compactMap { index -> DSNRecipientReport? in
            guard envelope.recipients.indices.contains(index) else { return nil }
            let r = envelope.recipients[index]
            let localPart = r.address.split(separator: "@", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let resolvedElsewhere = !r.isRemote && localPart.lowercased() != r.localUser.lowercased()
            let actual = resolvedElsewhere ? "\(r.localUser)@\(hostname)" : ""
            return DSNRecipientReport(
                address: r.address, originalRecipient: r.originalRecipient, actualRecipient: actual,
                reason: r.lastResult, action: Self.successAction(r, event: notice.event))
        }
        self.init(
            event: notice.event, notifyAddress: notice.recipient, isDoubleBounce: notice.isDoubleBounce,
            originalQueueID: envelope.queueID, originalSender: envelope.sender, envelopeID: envelope.envelopeID,
            returnContent: envelope.dsnReturn, timing: timing, recipients: recipients)
    }
}
