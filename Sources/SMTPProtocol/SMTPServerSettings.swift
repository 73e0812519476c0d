/// Per-listener limits. Every one bounds something a client controls, so
/// that no session can make the listener use unbounded memory or time.
public struct SMTPServerSettings: Sendable {
    /// Our name in the EHLO/HELO reply and in Received:.
    public var hostname: String
    /// The full text after "220 ", already expanded.
    public var greeting: String
    /// Advertised as SIZE and enforced on the unstuffed message content
    /// (our own Received: header does not count against the client).
    public var maxMessageSize: Int
    /// Accepted recipients per message.
    public var maxRecipients: Int
    /// Octets per command line including CRLF (RFC 5321 §4.5.3.1.4).
    public var maxCommandLineLength: Int
    /// 4xx/5xx replies to the client's own mistakes before 421 and close;
    /// this is what slows down address harvesting and garbage floods.
    public var maxErrors: Int
    /// Received: fields a message may already carry (RFC 5321 §6.3 loop
    /// detection).
    public var maxReceivedHeaders: Int
    /// Unprocessed input held while waiting for an asynchronous answer; a
    /// pipelining client needs little, anything more is abuse.
    public var maxPendingInput: Int

    public init(
        hostname: String, greeting: String, maxMessageSize: Int = 10_485_760, maxRecipients: Int = 100,
        maxCommandLineLength: Int = 512, maxErrors: Int = 20, maxReceivedHeaders: Int = 100,
        maxPendingInput: Int = 65_536
    ) {
        self.hostname = hostname
        self.greeting = greeting
        self.maxMessageSize = maxMessageSize
        self.maxRecipients = maxRecipients
        self.maxCommandLineLength = maxCommandLineLength
        self.maxErrors = maxErrors
        self.maxReceivedHeaders = maxReceivedHeaders
        self.maxPendingInput = maxPendingInput
    }
}
