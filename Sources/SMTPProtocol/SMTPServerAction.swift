/// The policy answer for one MAIL, from the lookup process (access map
/// `From:` entries and the like).
public enum SenderVerdict: Equatable, Sendable {
    /// Replied to with 250 2.1.0.
    case accept
    /// Replied to with exactly this reply; no transaction starts.
    case reject(SMTPReply)
    /// Sendmail's DISCARD: the transaction goes on and looks normal to the
    /// client, but the message is thrown away at its end, never queued.
    case discard
}

/// The policy answer for one RCPT, from the lookup process.
public enum RecipientVerdict: Equatable, Sendable {
    /// Replied to with 250 2.1.5.
    case accept(localUser: String)
    /// Replied to with 250 2.1.5: a recipient elsewhere, to be relayed to
    /// `address` (the client's address with any route through this host,
    /// such as the percent hack, taken off).
    case relay(address: String)
    /// Replied to with exactly this reply.
    case reject(SMTPReply)
    /// Replied to with 250 2.1.5, and the whole message is discarded at
    /// its end (Sendmail's DISCARD on a `To:` entry).
    case discard
}

public struct AcceptedRecipient: Equatable, Sendable {
    /// As the client gave it, without angle brackets.
    public var address: String
    /// What the lookup resolved it to.
    public var localUser: String
    /// RFC 3461 NOTIFY; nil when not given. With the `noreceipts` privacy
    /// flag SUCCESS has already been removed (leaving NEVER if nothing else
    /// was asked for).
    public var notify: DSNNotify?
    /// RFC 3461 ORCPT as `addr-type;address`, decoded from xtext.
    public var orcpt: String?

    public init(address: String, localUser: String, notify: DSNNotify? = nil, orcpt: String? = nil) {
        self.address = address
        self.localUser = localUser
        self.notify = notify
        self.orcpt = orcpt
    }
}

/// Everything the queue needs to commit a message besides its bytes.
public struct AcceptedMessage: Equatable, Sendable {
    /// The reverse-path without angle brackets; "" for the null sender.
    public var sender: String
    public var recipients: [AcceptedRecipient]
    /// The HELO/EHLO name; "" when the client sent MAIL without one.
    public var helo: String
    /// Bytes written to the spool file, the Received: header included.
    public var size: Int
    /// The BODY= parameter of MAIL FROM, nil when the client gave none.
    public var body: MessageBodyType?
    /// RFC 3461 RET and ENVID from MAIL FROM.
    public var ret: DSNReturn?
    public var envid: String?
    /// RFC 6531: the transaction declared SMTPUTF8 (relaying it needs a
    /// next hop that offers SMTPUTF8).
    public var smtputf8: Bool
    /// The Message-ID the message has (or was given), for the log.
    public var messageID: String?

    public init(
        sender: String, recipients: [AcceptedRecipient], helo: String, size: Int, body: MessageBodyType? = nil,
        ret: DSNReturn? = nil, envid: String? = nil, smtputf8: Bool = false, messageID: String? = nil
    ) {
        self.messageID = messageID
        self.sender = sender
        self.recipients = recipients
        self.helo = helo
        self.size = size
        self.body = body
        self.ret = ret
        self.envid = envid
        self.smtputf8 = smtputf8
    }
}

/// What the I/O layer must do, in order.
public enum SMTPServerAction: Equatable, Sendable {
    case reply(SMTPReply)
    /// Ask the lookup about this sender ("" for the null sender); answer
    /// with `senderChecked`.
    /// `declaredSize` is MAIL's SIZE=, so that a message that would not fit
    /// in the spool can be refused before it is sent.
    case checkSender(address: String, declaredSize: Int?)
    /// Ask the lookup about this recipient; answer with `recipientChecked`.
    case checkRecipient(address: String)
    /// Ask the queue for a new spool file; answer with `messageOpened`.
    case openMessage
    /// Append to the open spool file.
    case writeMessageData([UInt8])
    /// Ask the queue to make the message durable; answer with
    /// `messageCommitted`. The 250 is only sent after that answer.
    case commitMessage(AcceptedMessage)
    /// Discard the open spool file.
    case abortMessage
    /// Close the connection after writing the replies before this action.
    case close
    /// Write the replies before this action in cleartext, then start the
    /// TLS handshake; answer with `tlsEstablished`. The machine has
    /// already thrown away every byte the client sent after STARTTLS.
    case startTLS
    /// Start a SASL exchange at the lookup; answer with `authenticationStep`.
    case authStart(mechanism: String, initialResponse: [UInt8]?)
    /// The client's response to the last challenge, decoded.
    case authContinue([UInt8])
    /// The client cancelled the exchange ("*") or sent garbage: tell the
    /// lookup to forget it. No answer.
    case authAbort
}

/// The lookup's answer to one step of AUTH.
public enum AuthenticationStep: Equatable, Sendable {
    /// Sent to the client as a 334 challenge.
    case challenge([UInt8])
    case success(user: String)
    /// Sent to the client as it is (535 5.7.8, 454 4.7.0, 504 5.5.4...).
    case failure(SMTPReply)
}
