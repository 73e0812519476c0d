/// The parsed `postern.conf`: every option with its effective value. The
/// master reads and checks the file; each child gets the rendered text
/// (`render()`), which names every value, so a child never falls back on a
/// default that could differ inside its jail (its host name, say).
///
/// Option names are Sendmail's where Sendmail has one (docs/files-and-configuration.md, "Configuration"), and the
/// defaults are the hardened ones from the seeds: a size and recipient limit,
/// a greeting without a version, goaway privacy, listening on loopback only
/// until the operator opens port 25 on purpose.
public struct PosternConfig: Equatable, Sendable {
    /// The file the values came from, for messages (`postern check`, logs).
    public var sourcePath: String
    /// Our name in the greeting, HELO/EHLO and Received: lines; lower case.
    public var myHostname: String
    /// Domains delivered here (Sendmail's class w); lower case, no duplicates.
    public var localDomains: [String]
    /// One listening socket per entry; the file's `Listen` lines in order.
    public var listen: [ListenAddress] = [ListenAddress(host: "127.0.0.1", port: 25, isIPv6: false)]
    /// What each socket speaks; an address not here is `smtp`.
    public var listenKinds: [ListenAddress: ListenKind] = [:]
    public var security: SecurityConfig = SecurityConfig(configDirectory: Defaults.configDirectory)
    public var configDirectory: String = Defaults.configDirectory
    public var queueDirectory: String = "/var/spool/postern"
    /// Where the sendmail command leaves messages (mode 1733, owned by
    /// postern-submit): kept there while the daemon is down.
    public var dropDirectory: String = "/var/spool/postern-drop"
    public var emptyDirectory: String = "/var/lib/postern/empty"
    public var mailDirectory: String = "/var/mail"
    public var safeFileEnvironment: String = "/var/mailjail"
    public var smrshDirectory: String = "/etc/postern/smrsh"
    public var runDirectory: String = "/run/postern"
    /// A log file the master opens; nil logs to syslog (the default).
    public var logFile: String? = nil
    public var logFacility: LogFacility = .mail
    /// Bytes; the listener refuses larger messages (SIZE and during DATA).
    public var maxMessageSize: Int = Defaults.maxMessageSize
    public var maxRecipientsPerMessage: Int = SMTPDefaults.maxRecipients
    /// The text after "220 ", before expansion; see `expandedGreeting(date:)`.
    public var smtpGreetingMessage: String = Defaults.smtpGreetingMessage
    /// Expanded: `goaway` has become its flags and `public` nothing.
    public var privacyOptions: Set<PrivacyOption> = PrivacyOption.goaway.union([.restrictmailq, .restrictqrun])
    /// The most per-user delivery workers alive at once.
    public var localWorkerLimit: Int = 64
    /// Seconds a per-user worker with no mail waits before it exits.
    public var localWorkerIdleTimeout: Int = 60
    /// Seconds the master waits for children to drain on SIGTERM.
    public var shutdownTimeout: Int = 10
    /// The group that owns the mbox directory; workers join it to write there.
    public var mailGroup: String = "mail"
    /// Received: lines beyond which a message is bounced as looping.
    public var maxHopCount: Int = SMTPDefaults.maxHopCount
    /// Simultaneous SMTP connections the listener accepts.
    public var maxConnections: Int = 200
    /// Simultaneous connections from one client address.
    public var maxConnectionsPerClient: Int = 20
    /// Connections one client address may open per minute; 0 = no limit.
    public var maxConnectionRatePerClient: Int = 120
    /// Errors (bad commands, refused recipients) before a session is closed.
    public var maxErrorsPerSession: Int = SMTPDefaults.maxErrors
    /// Seconds the listener waits for a command (RFC 5321 §4.5.3.2: ≥ 5 min).
    public var commandTimeout: Int = SMTPDefaults.commandTimeout
    /// Seconds the listener waits for the next data block within DATA/BDAT.
    public var dataBlockTimeout: Int = SMTPDefaults.dataBlockTimeout
    /// What a bare CR or LF in a message body gets: refused, or made CRLF.
    public var bareLineEndings: BareLineEndings = .reject
    /// DNS block list zones the lookup queries for every client address.
    public var dnsBlocklists: [String] = []
    /// DNS servers for the lookup; empty = those of /etc/resolv.conf.
    public var dnsResolvers: [ListenAddress] = []
    /// Seconds after arrival when undelivered recipients are bounced
    /// (Sendmail's Timeout.queuereturn).
    public var queueReturn: Int = 5 * 86_400
    /// Seconds after arrival when the sender is told of the delay, once
    /// (Timeout.queuewarn); 0 = never.
    public var queueWarn: Int = 4 * 3_600
    /// The first retry delay and the largest (Postfix's minimal and
    /// maximal backoff); the delay doubles in between.
    public var queueRetryMinimum: Int = 300
    public var queueRetryMaximum: Int = 3_600
    /// Bytes that must stay free in the spool's file system (Postfix's
    /// queue_minfree, Sendmail's MinFreeBlocks): below it MAIL is refused
    /// with 452 4.3.1, and a SIZE= that would go below it too. Always more
    /// than MaxMessageSize, so that an accepted message of any allowed size
    /// fits; by default twice it.
    public var queueMinFree: Int = Defaults.maxMessageSize * Defaults.queueMinFreeFactor
    /// Seconds the listener waits for another process's answer (a policy
    /// check, a spool file, a commit) before it gives the client a 451 and
    /// logs the process as not answering.
    public var ipcTimeout: Int = 120
    /// Seconds a child may leave the master's health check unanswered
    /// before the master kills it (it is then restarted like a child that
    /// died).
    public var watchdogTimeout: Int = 60
    /// The group whose members (and root) may control the queue: list it
    /// under `restrictmailq`, flush it under `restrictqrun`, hold, release
    /// and delete messages.
    public var queueAdminGroup: String = "root"
    /// Users besides root who may set the envelope sender with `sendmail
    /// -f` without an X-Authentication-Warning header (Sendmail's class t).
    public var trustedUsers: [String] = []
    /// Postfix's home_mailbox: deliver into this Maildir under each user's
    /// home ("Maildir/"); empty: the mbox in MailDirectory.
    public var homeMailbox: String = ""
    /// Aliases' default user, pipe time limit, masquerading.
    public var addressing: AddressingConfig = AddressingConfig()
    /// Remote delivery: smart host, port, outbound TLS, per-destination limits.
    public var relay: RelayConfig = RelayConfig()

    public enum Defaults {
        /// Also the root of the SASL files' defaults.
        public static let configDirectory = "/etc/postern"
        /// Also what QueueMinFree's default follows.
        public static let maxMessageSize = SMTPDefaults.maxMessageSize
        public static let smtpGreetingMessage = "$j ESMTP"
        /// QueueMinFree when not set: this many times MaxMessageSize.
        public static let queueMinFreeFactor = 2
    }

    /// Every option at its default (the properties' initial values), for
    /// the given host name (which is also the one local domain). Lets other
    /// modules' tests build a config without a file; the loader starts from
    /// the same values.
    public init(sourcePath: String, myHostname: String) {
        self.sourcePath = sourcePath
        self.myHostname = myHostname
        self.localDomains = [myHostname]
    }

    /// The domain local names are written in when they become addresses
    /// (an alias's or a .forward's members): the first of LocalDomains,
    /// which are the names mail is accepted for (MyHostname need not be).
    public var primaryDomain: String { localDomains.first ?? myHostname }

    /// What the socket at `address` speaks.
    public func kind(of address: ListenAddress) -> ListenKind { listenKinds[address] ?? .smtp }

    /// Whether mail for this domain is delivered here. Case-insensitive, and
    /// a trailing dot (the absolute form `example.org.`) is ignored.
    public func isLocalDomain(_ domain: String) -> Bool {
        var name = ConfigText.asciiLowercased(domain)
        if name.hasSuffix(".") { name.removeLast() }
        return !name.isEmpty && localDomains.contains(name)
    }

    /// The greeting text after "220 ": `$j` is MyHostname, `$b` the given
    /// date (RFC 5322 form, made by the caller, who owns the clock), `$$` a
    /// dollar sign. Expanded at use so the date is the connection's.
    public func expandedGreeting(date: String) -> String {
        ConfigValue.expandGreeting(smtpGreetingMessage, hostName: myHostname, date: date)
    }

    /// The effective configuration, every option with its value, in the file
    /// syntax, so that parsing the output gives an equal config (round trip).
    /// `postern check` prints this, and the master hands it to the children.
    public func render() -> String {
        var lines: [String] = [
            "# Postern configuration in effect, from \(ConfigText.quoted(sourcePath)).",
            "# Every option is listed with its value; LogFile = syslog means no log file.",
        ]
        for option in ConfigOption.allCases {
            for value in option.render(self) { lines.append("\(option.rawValue) = \(value)") }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
