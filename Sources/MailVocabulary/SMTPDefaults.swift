/// The hardened defaults of the SMTP limits, in one place: the
/// configuration starts from them and so does the server machine, so that
/// a machine built without a configuration (a test, a fuzz harness)
/// behaves as a daemon with an empty postern.conf does.
public enum SMTPDefaults {
    public static let maxMessageSize = 10 << 20
    public static let maxRecipients = 100
    /// Protocol errors and refused recipients before 421 and disconnect.
    public static let maxErrors = 10
    /// Received: lines beyond which a message is bounced as looping.
    public static let maxHopCount = 100
    /// RFC 5321 §4.5.3.2: at least 5 minutes for a command.
    public static let commandTimeout = 300
    public static let dataBlockTimeout = 180
    public static let maxAuthFailures = 3
}
