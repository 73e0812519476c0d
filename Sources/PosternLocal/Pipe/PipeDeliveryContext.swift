/// What a delivery program learns about the message besides the message:
/// the values Sendmail's prog mailer exports, plus the recipient user's
/// identity.
///
/// They reach the program only as environment variables. Putting an
/// envelope value into argv or a command line is how CVE-2020-7247 turned a
/// MAIL FROM into a root shell; as data in the environment, `x;rm -rf /` is
/// just a string the program may print.
public struct PipeDeliveryContext: Equatable, Sendable {
    /// The envelope sender; "" for the null sender.
    public var sender: String
    /// The recipient this delivery is for (after alias and .forward
    /// expansion).
    public var recipient: String
    /// The recipient as given in RCPT TO, before expansion.
    public var originalRecipient: String
    /// Local part and domain of `recipient`.
    public var local: String
    public var domain: String
    public var queueID: String
    /// `QUEUEID.N`: the same on every attempt at this recipient. A pipe is
    /// at-least-once (a program cannot be asked whether it already ran), so
    /// a program that must not act twice keeps the ids it has seen.
    public var deliveryID: String
    /// The recipient user's login name and home directory: USER, LOGNAME,
    /// HOME, and the working directory when it exists.
    public var user: String
    public var home: String

    public init(
        sender: String, recipient: String, originalRecipient: String, local: String, domain: String,
        queueID: String, deliveryID: String = "", user: String, home: String
    ) {
        self.sender = sender
        self.recipient = recipient
        self.originalRecipient = originalRecipient
        self.local = local
        self.domain = domain
        self.queueID = queueID
        self.deliveryID = deliveryID
        self.user = user
        self.home = home
    }

    /// The program's complete environment. Nothing is inherited from the
    /// worker: PATH is fixed so that the program finds the system tools and
    /// nothing a user planted, and there is no SHELL because no shell is
    /// involved.
    ///
    /// Nil when a value contains NUL, which the environment cannot carry
    /// (cutting it short would hand the program a different value).
    public var environment: [String]? {
        let variables = [
            ("PATH", "/usr/bin:/bin"),
            ("HOME", home),
            ("USER", user),
            ("LOGNAME", user),
            ("SENDER", sender),
            ("RECIPIENT", recipient),
            ("ORIGINAL_RECIPIENT", originalRecipient),
            ("LOCAL", local),
            ("DOMAIN", domain),
            ("QUEUE_ID", queueID),
            ("DELIVERY_ID", deliveryID),
        ]
        guard !variables.contains(where: { $0.1.utf8.contains(0) }) else { return nil }
        return variables.map { $0.0 + "=" + $0.1 }
    }
}
