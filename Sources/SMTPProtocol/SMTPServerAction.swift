/// The policy answer for one RCPT, from the lookup process.
public enum RecipientVerdict: Equatable, Sendable {
    /// Replied to with 250 2.1.5.
    case accept(localUser: String)
    /// Replied to with exactly this reply.
    case reject(SMTPReply)
}

public struct AcceptedRecipient: Equatable, Sendable {
    /// As the client gave it, without angle brackets.
    public var address: String
    /// What the lookup resolved it to.
    public var localUser: String

    public init(address: String, localUser: String) {
        self.address = address
        self.localUser = localUser
    }
}

/// Everything the queue needs to commit a message besides its bytes.
public struct AcceptedMessage: Equatable, Sendable {
    /// The reverse-path without angle brackets; "" for the null sender.
    public var sender: String
    public var recipients: [AcceptedRecipient]
    public var helo: String
    /// Bytes written to the spool file, the Received: header included.
    public var size: Int
    /// The BODY= parameter of MAIL FROM, nil when the client gave none.
    public var body: MailBodyType?

    public init(sender: String, recipients: [AcceptedRecipient], helo: String, size: Int, body: MailBodyType? = nil) {
        self.sender = sender
        self.recipients = recipients
        self.helo = helo
        self.size = size
        self.body = body
    }
}

/// What the I/O layer must do, in order.
public enum SMTPServerAction: Equatable, Sendable {
    case reply(SMTPReply)
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
}
