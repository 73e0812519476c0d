/// One recipient of a message to relay, with the RFC 3461 requests to pass
/// on when the next hop offers DSN.
public struct OutboundRecipient: Equatable, Sendable {
    /// Without angle brackets.
    public var address: String
    /// NOTIFY=; empty when the sender gave none (then none is sent).
    public var notify: DSNNotify
    /// ORCPT= as `type;address`, decoded; empty when none was given.
    public var originalRecipient: String

    public init(address: String, notify: DSNNotify = [], originalRecipient: String = "") {
        self.address = address
        self.notify = notify
        self.originalRecipient = originalRecipient
    }
}

/// What the client needs to send one queued message: the envelope facts
/// from the queue's control file. The content itself is read by the I/O
/// layer from the spool descriptor when the state machine asks for it.
public struct OutboundMessage: Equatable, Sendable {
    public var queueID: QueueID
    /// The reverse path without angle brackets; empty for the null sender.
    public var sender: String
    /// Results are reported by index into this list.
    public var recipients: [OutboundRecipient]
    /// Octets of the spooled content: SIZE= and the check against the
    /// server's SIZE limit.
    public var size: Int
    /// BODY= as received; nil when the client gave none.
    public var bodyType: MessageBodyType?
    /// The message was received with SMTPUTF8 (RFC 6531).
    public var smtputf8: Bool
    public var dsnReturn: DSNReturn?
    /// ENVID=, decoded; empty when none was given.
    public var envelopeID: String

    public init(
        queueID: QueueID, sender: String, recipients: [OutboundRecipient], size: Int,
        bodyType: MessageBodyType? = nil, smtputf8: Bool = false, dsnReturn: DSNReturn? = nil,
        envelopeID: String = ""
    ) {
        self.queueID = queueID
        self.sender = sender
        self.recipients = recipients
        self.size = size
        self.bodyType = bodyType
        self.smtputf8 = smtputf8
        self.dsnReturn = dsnReturn
        self.envelopeID = envelopeID
    }

    /// SMTPUTF8 was declared, or an address cannot be written in ASCII: either
    /// way only a server offering SMTPUTF8 may be given this message.
    public var needsSMTPUTF8: Bool {
        smtputf8 || !sender.utf8.allSatisfy { $0 < 0x80 }
            || recipients.contains { !$0.address.utf8.allSatisfy { $0 < 0x80 } }
    }
}
