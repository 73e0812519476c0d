/// What the listener learned about a message and the queue keeps with it.
/// Every string is validated with `EnvelopeField` where it arrives.
public struct Envelope: Equatable, Sendable {
    public var queueID: QueueID
    /// The reverse path without angle brackets; empty for the null sender.
    public var sender: String
    public var recipients: [Recipient]
    /// Seconds since the epoch.
    public var arrival: Int64
    public var clientAddress: String
    public var clientHelo: String
    /// The authenticated user, empty when none.
    public var authUser: String
    public var size: Int64
    public var attempts: Int32
    /// Seconds since the epoch of the next delivery attempt.
    public var nextAttempt: Int64
    /// RET= of MAIL; nil when not given.
    public var dsnReturn: DSNReturn?
    /// ENVID= of MAIL, decoded; empty when not given.
    public var envelopeID: String
    /// BODY= of MAIL; nil when not given.
    public var bodyType: MessageBodyType?
    /// The SMTPUTF8 parameter of MAIL (RFC 6531).
    public var smtputf8: Bool
    /// The sender has been told that the message is delayed (QueueWarn):
    /// told once, not at every retry.
    public var warned: Bool = false
    /// What made this message: a client, or the queue itself as a delivery
    /// status notification. A failed notification is never answered by
    /// another one to the same place (no bounce loops).
    public var notice: MessageNotice = .none
    /// Put on hold by an administrator: not delivered, not expired, until
    /// released.
    public var held: Bool = false

    public init(
        queueID: QueueID, sender: String, recipients: [Recipient], arrival: Int64,
        clientAddress: String, clientHelo: String, authUser: String = "", size: Int64,
        attempts: Int32 = 0, nextAttempt: Int64 = 0, dsnReturn: DSNReturn? = nil, envelopeID: String = "",
        bodyType: MessageBodyType? = nil, smtputf8: Bool = false
    ) {
        self.queueID = queueID
        self.sender = sender
        self.recipients = recipients
        self.arrival = arrival
        self.clientAddress = clientAddress
        self.clientHelo = clientHelo
        self.authUser = authUser
        self.size = size
        self.attempts = attempts
        self.nextAttempt = nextAttempt
        self.dsnReturn = dsnReturn
        self.envelopeID = envelopeID
        self.bodyType = bodyType
        self.smtputf8 = smtputf8
    }

    public func validate() throws {
        try EnvelopeField.validate(sender, field: "sender", limit: EnvelopeField.maxAddressLength)
        try EnvelopeField.validate(clientAddress, field: "client", limit: 64)
        try EnvelopeField.validate(clientHelo, field: "helo", limit: EnvelopeField.maxAddressLength)
        try EnvelopeField.validate(authUser, field: "auth", limit: EnvelopeField.maxAddressLength)
        try EnvelopeField.validate(envelopeID, field: "envid", limit: 100)
        for r in recipients { try r.validate() }
    }
}

/// Which messages the queue wrote itself.
public enum MessageNotice: String, Sendable, Equatable {
    /// A message from a client.
    case none
    /// A delivery status notification to a message's sender (null sender).
    case dsn
    /// A notification about a notification that could not be delivered,
    /// sent to the postmaster; if that fails too, it is dropped and logged.
    case doubleBounce = "double-bounce"
}

public struct Recipient: Equatable, Sendable {
    public enum State: UInt8, Sendable {
        case pending = 0
        case delivered = 1
        case failed = 2
    }

    /// The address as the client gave it (RCPT TO), without angle brackets.
    public var address: String
    /// Where the lookup resolved it: for a local recipient, the user name.
    public var localUser: String
    public var state: State
    /// The last delivery result text (reason for a deferral or failure).
    public var lastResult: String
    /// NOTIFY= of RCPT; empty when not given.
    public var notify: DSNNotify
    /// ORCPT= of RCPT as `type;address`, decoded; empty when not given.
    public var originalRecipient: String
    /// For a local recipient, how far it is resolved; `.name` for remote
    /// ones (unused).
    public var target: LocalTarget
    /// The index of an earlier recipient of the same message that reaches
    /// the same delivery target (`BOB` beside `bob`, another local domain,
    /// a virtual address mapped to the same user): that one is delivered,
    /// and this one takes its outcome, so the mailbox gets one copy while
    /// each recipient's DSN request is still answered.
    public var duplicateOf: Int?

    public init(
        address: String, localUser: String, state: State = .pending, lastResult: String = "",
        notify: DSNNotify = [], originalRecipient: String = "", target: LocalTarget = .name, duplicateOf: Int? = nil
    ) {
        self.address = address
        self.localUser = localUser
        self.state = state
        self.lastResult = lastResult
        self.notify = notify
        self.originalRecipient = originalRecipient
        self.target = target
        self.duplicateOf = duplicateOf
    }

    /// A recipient the lookup accepted for relaying has no local user.
    public var isRemote: Bool { localUser.isEmpty }

    public func validate() throws {
        try EnvelopeField.validate(address, field: "recipient", limit: EnvelopeField.maxAddressLength)
        try EnvelopeField.validate(localUser, field: "user", limit: 64)
        try EnvelopeField.validate(lastResult, field: "result")
        try EnvelopeField.validate(originalRecipient, field: "orcpt", limit: 500)
        try EnvelopeField.validate(target.text, field: "target", limit: EnvelopeField.maxTargetLength)
    }
}
