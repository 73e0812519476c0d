/// The queue's three outcomes for one recipient of one attempt.
public enum RecipientDisposition: String, Equatable, Sendable {
    /// The server accepted responsibility (2xx to the end of data).
    case delivered
    /// Try again later (4xx, timeouts, lost connections, protocol errors).
    case deferred
    /// Bounce (5xx, or a refusal before sending rather than corrupting).
    case failed
}

/// How one recipient ended on this connection.
public struct RecipientResult: Equatable, Sendable {
    /// Index into `OutboundMessage.recipients`.
    public var index: Int
    public var disposition: RecipientDisposition
    /// RFC 3463 code whose class agrees with `disposition`: the server's own
    /// when it sent a fitting one, otherwise a generic or our own.
    public var status: String
    /// "host mx.example.test[192.0.2.25] said: 550 5.1.1 no such user (in
    /// reply to RCPT TO)": printable ASCII only and bounded, so it can go
    /// into the control file and a bounce as it is.
    public var text: String

    public init(index: Int, disposition: RecipientDisposition, status: String, text: String) {
        self.index = index
        self.disposition = disposition
        self.status = status
        self.text = text
    }

    /// The form the queue keeps as a recipient's last result: the status
    /// first, which is where its DSN code reader looks for it.
    public var queueText: String { "\(status) \(text)" }
}

/// The outcome of one message on this connection: exactly one per message
/// handed to the state machine, with exactly one result per recipient.
public struct MessageReport: Equatable, Sendable {
    public var queueID: QueueID
    /// In recipient order, one per recipient.
    public var results: [RecipientResult]
    /// MAIL FROM was sent for this message. False when the connection failed
    /// before its transaction began (greeting, EHLO, TLS, RSET, a 421, a
    /// lost connection): the host learnt nothing of it, every recipient is
    /// deferred, and the router may try the next MX host for it at once.
    public var attempted: Bool
    /// The next hop offered DSN, so NOTIFY/RET/ENVID/ORCPT went with the
    /// message; when false and a recipient asked for SUCCESS, RFC 3461 §4.1
    /// wants a "relayed" notification from us.
    public var dsnPassedOn: Bool

    public init(queueID: QueueID, results: [RecipientResult], attempted: Bool, dsnPassedOn: Bool) {
        self.queueID = queueID
        self.results = results
        self.attempted = attempted
        self.dsnPassedOn = dsnPassedOn
    }
}

/// Why a connection ended other than by our QUIT: for the log, and for
/// the decision to try another host or to reconnect without TLS.
public struct SessionFailure: Equatable, Sendable {
    /// A 4.x.x code: whatever the server said, a host that will not talk to
    /// us is a reason to try later or elsewhere, not to bounce.
    public var status: String
    public var text: String
    /// Policy `may` and the TLS handshake failed: the same host may be tried
    /// again at once in cleartext (a new connection with policy `none`).
    public var retryWithoutTLS: Bool

    public init(status: String, text: String, retryWithoutTLS: Bool = false) {
        self.status = status
        self.text = text
        self.retryWithoutTLS = retryWithoutTLS
    }
}
