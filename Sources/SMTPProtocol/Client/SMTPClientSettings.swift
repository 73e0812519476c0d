/// RFC 5321 §4.5.3.2 client timeouts, in seconds: how long to wait for each
/// kind of reply (or, for `dataBlock`, for each block of content to be
/// written) before giving up on the connection.
public struct SMTPClientTimeouts: Equatable, Sendable {
    /// §4.5.3.2.1: the 220 greeting, 5 minutes.
    public var greeting: Int
    /// §4.5.3.2.2: MAIL, 5 minutes.
    public var mail: Int
    /// §4.5.3.2.3: each RCPT, 5 minutes.
    public var rcpt: Int
    /// §4.5.3.2.4: the 354 to DATA, 2 minutes.
    public var dataInitiation: Int
    /// §4.5.3.2.5: each block of content, and each BDAT chunk's reply, 3 minutes.
    public var dataBlock: Int
    /// §4.5.3.2.6: the reply after the final "." or BDAT LAST, 10 minutes:
    /// long, because the server may be delivering while we wait, and giving
    /// up early is how duplicates happen.
    public var dataTermination: Int
    /// EHLO, HELO, STARTTLS and its handshake, RSET and QUIT, which RFC 5321
    /// gives no value for: the same 5 minutes as MAIL.
    public var command: Int

    public init(
        greeting: Int = 300, mail: Int = 300, rcpt: Int = 300, dataInitiation: Int = 120, dataBlock: Int = 180,
        dataTermination: Int = 600, command: Int = 300
    ) {
        self.greeting = greeting
        self.mail = mail
        self.rcpt = rcpt
        self.dataInitiation = dataInitiation
        self.dataBlock = dataBlock
        self.dataTermination = dataTermination
        self.command = command
    }
}

/// What one outbound connection is to and how it behaves.
public struct SMTPClientSettings: Equatable, Sendable {
    /// Our name for EHLO and HELO. The configuration loader validates it as
    /// a domain or address literal; the command encoder still drops any byte
    /// that could break the command line.
    public var heloName: String
    /// The MX host's name and the address we connected to, for result texts
    /// ("host mx.example.test[192.0.2.25] said: ...").
    public var remoteName: String
    public var remoteAddress: String
    public var tlsPolicy: OutboundTLSPolicy
    public var timeouts: SMTPClientTimeouts
    public var replyLimits: SMTPReplyLimits

    public init(
        heloName: String, remoteName: String, remoteAddress: String, tlsPolicy: OutboundTLSPolicy = .may,
        timeouts: SMTPClientTimeouts = SMTPClientTimeouts(), replyLimits: SMTPReplyLimits = SMTPReplyLimits()
    ) {
        self.heloName = heloName
        self.remoteName = remoteName
        self.remoteAddress = remoteAddress
        self.tlsPolicy = tlsPolicy
        self.timeouts = timeouts
        self.replyLimits = replyLimits
    }
}
