/// The parsed `postern.conf`: every option with its effective value. The
/// master reads and checks the file; each child gets the rendered text
/// (`render()`), which names every value, so a child never falls back on a
/// default that could differ inside its jail (its host name, say).
///
/// Option names are Sendmail's where Sendmail has one (DESIGN.md §4), and the
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
    public var listen: [ListenAddress]
    /// What each socket speaks; an address not here is `smtp`.
    public var listenKinds: [ListenAddress: ListenKind]
    public var security: SecurityConfig
    public var configDirectory: String
    public var queueDirectory: String
    public var emptyDirectory: String
    public var mailDirectory: String
    public var safeFileEnvironment: String
    public var smrshDirectory: String
    public var runDirectory: String
    /// A log file the master opens; nil logs to syslog (the default).
    public var logFile: String?
    public var logFacility: LogFacility
    /// Bytes; the listener refuses larger messages (SIZE and during DATA).
    public var maxMessageSize: Int
    public var maxRecipientsPerMessage: Int
    /// The text after "220 ", before expansion; see `expandedGreeting(date:)`.
    public var smtpGreetingMessage: String
    /// Expanded: `goaway` has become its flags and `public` nothing.
    public var privacyOptions: Set<PrivacyOption>
    /// The most per-user delivery workers alive at once.
    public var localWorkerLimit: Int
    /// Seconds a per-user worker with no mail waits before it exits.
    public var localWorkerIdleTimeout: Int
    /// Seconds the master waits for children to drain on SIGTERM.
    public var shutdownTimeout: Int
    /// The group that owns the mbox directory; workers join it to write there.
    public var mailGroup: String
    /// Received: lines beyond which a message is bounced as looping.
    public var maxHopCount: Int
    /// Simultaneous SMTP connections the listener accepts.
    public var maxConnections: Int
    /// Simultaneous connections from one client address.
    public var maxConnectionsPerClient: Int
    /// Connections one client address may open per minute; 0 = no limit.
    public var maxConnectionRatePerClient: Int
    /// Errors (bad commands, refused recipients) before a session is closed.
    public var maxErrorsPerSession: Int
    /// Seconds the listener waits for a command (RFC 5321 §4.5.3.2: ≥ 5 min).
    public var commandTimeout: Int
    /// Seconds the listener waits for the next data block within DATA/BDAT.
    public var dataBlockTimeout: Int
    /// What a bare CR or LF in a message body gets: refused, or made CRLF.
    public var bareLineEndings: BareLineEndings
    /// DNS block list zones the lookup queries for every client address.
    public var dnsBlocklists: [String]
    /// DNS servers for the lookup; empty = those of /etc/resolv.conf.
    public var dnsResolvers: [ListenAddress]
    /// Seconds after arrival when undelivered recipients are bounced
    /// (Sendmail's Timeout.queuereturn).
    public var queueReturn: Int
    /// Seconds after arrival when the sender is told of the delay, once
    /// (Timeout.queuewarn); 0 = never.
    public var queueWarn: Int
    /// The first retry delay and the largest (Postfix's minimal and
    /// maximal backoff); the delay doubles in between.
    public var queueRetryMinimum: Int
    public var queueRetryMaximum: Int
    /// Bytes that must stay free in the spool's file system (Postfix's
    /// queue_minfree, Sendmail's MinFreeBlocks): below it MAIL is refused
    /// with 452 4.3.1, and a SIZE= that would go below it too. Always more
    /// than MaxMessageSize, so that an accepted message of any allowed size
    /// fits; by default twice it.
    public var queueMinFree: Int
    /// Seconds the listener waits for another process's answer (a policy
    /// check, a spool file, a commit) before it gives the client a 451 and
    /// logs the process as not answering.
    public var ipcTimeout: Int
    /// Seconds a child may leave the master's health check unanswered
    /// before the master kills it (it is then restarted like a child that
    /// died).
    public var watchdogTimeout: Int
    /// The group whose members (and root) may control the queue: list it
    /// under `restrictmailq`, flush it under `restrictqrun`, hold, release
    /// and delete messages.
    public var queueAdminGroup: String
    /// Postfix's home_mailbox: deliver into this Maildir under each user's
    /// home ("Maildir/"); empty: the mbox in MailDirectory.
    public var homeMailbox: String
    /// Aliases' default user, pipe time limit, masquerading.
    public var addressing: AddressingConfig
    /// Remote delivery: smart host, port, outbound TLS, per-destination limits.
    public var relay: RelayConfig

    public enum Defaults {
        public static let listen = [ListenAddress(host: "127.0.0.1", port: 25, isIPv6: false)]
        public static let configDirectory = "/etc/postern"
        public static let queueDirectory = "/var/spool/postern"
        public static let emptyDirectory = "/var/lib/postern/empty"
        public static let mailDirectory = "/var/mail"
        public static let safeFileEnvironment = "/var/mailjail"
        public static let smrshDirectory = "/etc/postern/smrsh"
        public static let runDirectory = "/run/postern"
        public static let logFacility = LogFacility.mail
        public static let maxMessageSize = 10 << 20
        public static let maxRecipientsPerMessage = 100
        public static let smtpGreetingMessage = "$j ESMTP"
        public static let privacyOptions = PrivacyOption.goaway.union([.restrictmailq, .restrictqrun])
        public static let localWorkerLimit = 64
        public static let localWorkerIdleTimeout = 60
        public static let shutdownTimeout = 10
        public static let mailGroup = "mail"
        public static let maxHopCount = 100
        public static let maxConnections = 200
        public static let maxConnectionsPerClient = 20
        public static let maxConnectionRatePerClient = 120
        public static let maxErrorsPerSession = 10
        public static let commandTimeout = 300
        public static let dataBlockTimeout = 180
        public static let queueReturn = 5 * 86_400
        public static let queueWarn = 4 * 3_600
        public static let queueRetryMinimum = 300
        public static let queueRetryMaximum = 3_600
        public static let ipcTimeout = 120
        public static let watchdogTimeout = 60
        /// QueueMinFree when not set: this many times MaxMessageSize.
        public static let queueMinFreeFactor = 2
    }

    /// Every option at its default, for the given host name (which is also the
    /// one local domain). Lets other modules' tests build a config without a
    /// file; the loader starts from the same values.
    public init(sourcePath: String, myHostname: String) {
        self.sourcePath = sourcePath
        self.myHostname = myHostname
        self.localDomains = [myHostname]
        self.listen = Defaults.listen
        self.listenKinds = [:]
        self.security = SecurityConfig(configDirectory: Defaults.configDirectory)
        self.configDirectory = Defaults.configDirectory
        self.queueDirectory = Defaults.queueDirectory
        self.emptyDirectory = Defaults.emptyDirectory
        self.mailDirectory = Defaults.mailDirectory
        self.safeFileEnvironment = Defaults.safeFileEnvironment
        self.smrshDirectory = Defaults.smrshDirectory
        self.runDirectory = Defaults.runDirectory
        self.logFile = nil
        self.logFacility = Defaults.logFacility
        self.maxMessageSize = Defaults.maxMessageSize
        self.maxRecipientsPerMessage = Defaults.maxRecipientsPerMessage
        self.smtpGreetingMessage = Defaults.smtpGreetingMessage
        self.privacyOptions = Defaults.privacyOptions
        self.localWorkerLimit = Defaults.localWorkerLimit
        self.localWorkerIdleTimeout = Defaults.localWorkerIdleTimeout
        self.shutdownTimeout = Defaults.shutdownTimeout
        self.mailGroup = Defaults.mailGroup
        self.maxHopCount = Defaults.maxHopCount
        self.maxConnections = Defaults.maxConnections
        self.maxConnectionsPerClient = Defaults.maxConnectionsPerClient
        self.maxConnectionRatePerClient = Defaults.maxConnectionRatePerClient
        self.maxErrorsPerSession = Defaults.maxErrorsPerSession
        self.commandTimeout = Defaults.commandTimeout
        self.dataBlockTimeout = Defaults.dataBlockTimeout
        self.bareLineEndings = .reject
        self.dnsBlocklists = []
        self.dnsResolvers = []
        self.queueReturn = Defaults.queueReturn
        self.queueWarn = Defaults.queueWarn
        self.queueRetryMinimum = Defaults.queueRetryMinimum
        self.queueRetryMaximum = Defaults.queueRetryMaximum
        self.queueMinFree = Defaults.maxMessageSize * Defaults.queueMinFreeFactor
        self.ipcTimeout = Defaults.ipcTimeout
        self.watchdogTimeout = Defaults.watchdogTimeout
        self.queueAdminGroup = "root"
        self.homeMailbox = ""
        self.addressing = AddressingConfig()
        self.relay = RelayConfig()
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
        func add(_ option: ConfigOption, _ value: String) { lines.append("\(option.rawValue) = \(value)") }
        for option in ConfigOption.allCases {
            switch option {
            case .myHostname: add(option, myHostname)
            case .localDomains: add(option, localDomains.joined(separator: ", "))
            case .listen:
                for address in listen {
                    let kind = kind(of: address)
                    add(option, kind == .smtp ? address.description : "\(address) \(kind.rawValue)")
                }
            case .configDirectory: add(option, configDirectory)
            case .queueDirectory: add(option, queueDirectory)
            case .emptyDirectory: add(option, emptyDirectory)
            case .mailDirectory: add(option, mailDirectory)
            case .safeFileEnvironment: add(option, safeFileEnvironment)
            case .smrshDirectory: add(option, smrshDirectory)
            case .runDirectory: add(option, runDirectory)
            case .logFile: add(option, logFile ?? ConfigOption.syslogKeyword)
            case .logFacility: add(option, logFacility.rawValue)
            case .maxMessageSize: add(option, ConfigValue.renderSize(maxMessageSize))
            case .maxRecipientsPerMessage: add(option, "\(maxRecipientsPerMessage)")
            case .smtpGreetingMessage: add(option, smtpGreetingMessage)
            case .privacyOptions: add(option, ConfigValue.renderPrivacy(privacyOptions))
            case .localWorkerLimit: add(option, "\(localWorkerLimit)")
            case .localWorkerIdleTimeout: add(option, ConfigValue.renderDuration(localWorkerIdleTimeout))
            case .shutdownTimeout: add(option, ConfigValue.renderDuration(shutdownTimeout))
            case .mailGroup: add(option, mailGroup)
            case .maxHopCount: add(option, "\(maxHopCount)")
            case .maxConnections: add(option, "\(maxConnections)")
            case .maxConnectionsPerClient: add(option, "\(maxConnectionsPerClient)")
            case .maxConnectionRatePerClient: add(option, "\(maxConnectionRatePerClient)")
            case .maxErrorsPerSession: add(option, "\(maxErrorsPerSession)")
            case .commandTimeout: add(option, ConfigValue.renderDuration(commandTimeout))
            case .dataBlockTimeout: add(option, ConfigValue.renderDuration(dataBlockTimeout))
            case .bareLineEndings: add(option, bareLineEndings.rawValue)
            case .dnsBlocklists:
                add(option, dnsBlocklists.isEmpty ? ConfigOption.noneKeyword : dnsBlocklists.joined(separator: ", "))
            case .dnsResolvers:
                add(
                    option,
                    dnsResolvers.isEmpty
                        ? ConfigOption.noneKeyword : dnsResolvers.map(\.description).joined(separator: ", "))
            case .queueReturn: add(option, ConfigValue.renderDuration(queueReturn))
            case .queueWarn: add(option, ConfigValue.renderDuration(queueWarn))
            case .queueRetryMinimum: add(option, ConfigValue.renderDuration(queueRetryMinimum))
            case .queueRetryMaximum: add(option, ConfigValue.renderDuration(queueRetryMaximum))
            case .queueMinFree: add(option, ConfigValue.renderSize(queueMinFree))
            case .ipcTimeout: add(option, ConfigValue.renderDuration(ipcTimeout))
            case .watchdogTimeout: add(option, ConfigValue.renderDuration(watchdogTimeout))
            case .queueAdminGroup: add(option, queueAdminGroup)
            case .homeMailbox: add(option, homeMailbox.isEmpty ? ConfigOption.noneKeyword : homeMailbox)
            case .defaultUser: add(option, addressing.defaultUser)
            case .pipeTimeout: add(option, ConfigValue.renderDuration(addressing.pipeTimeout))
            case .masqueradeAs:
                add(option, addressing.masqueradeAs.isEmpty ? ConfigOption.noneKeyword : addressing.masqueradeAs)
            case .masqueradeDomains:
                add(option, Self.list(addressing.masqueradeDomains))
            case .exposedUsers: add(option, Self.list(addressing.exposedUsers))
            case .masqueradeEntireDomain: add(option, addressing.masqueradeEntireDomain ? "yes" : "no")
            case .masqueradeEnvelope: add(option, addressing.masqueradeEnvelope ? "yes" : "no")
            case .alwaysAddDomain: add(option, addressing.alwaysAddDomain ? "yes" : "no")
            case .smartHost: add(option, relay.smartHost.isEmpty ? ConfigOption.noneKeyword : relay.smartHost)
            case .smtpPort: add(option, "\(relay.smtpPort)")
            case .tlsClientPolicy: add(option, relay.tlsPolicy.rawValue)
            case .tlsClientCAFile: add(option, relay.tlsCAFile)
            case .destinationConcurrency: add(option, "\(relay.destinationConcurrency)")
            case .destinationRate: add(option, "\(relay.destinationRate)")
            case .connectTimeout: add(option, ConfigValue.renderDuration(relay.connectTimeout))
            case .connectionCacheTime: add(option, ConfigValue.renderDuration(relay.connectionCacheTime))
            case .tlsCertificateFile: add(option, security.tlsCertificateFile ?? ConfigOption.noneKeyword)
            case .tlsKeyFile: add(option, security.tlsKeyFile ?? ConfigOption.noneKeyword)
            case .tlsCAFile: add(option, security.tlsCAFile ?? ConfigOption.noneKeyword)
            case .tlsCipherList: add(option, security.tlsCipherList)
            case .tlsCipherSuites: add(option, security.tlsCipherSuites)
            case .tlsMinVersion: add(option, security.tlsMinVersion.rawValue)
            case .tlsRequestClientCertificate: add(option, security.tlsRequestClientCertificate ? "yes" : "no")
            case .authMechanisms: add(option, security.authMechanisms.joined(separator: " "))
            case .authAllowCleartext: add(option, security.authAllowCleartext ? "yes" : "no")
            case .authMaxFailures: add(option, "\(security.authMaxFailures)")
            case .saslPasswordCheck: add(option, security.saslPasswordCheck.rawValue)
            case .saslDbFile: add(option, security.saslDbFile)
            case .saslauthdSocket: add(option, security.saslauthdSocket)
            case .senderLoginMap: add(option, security.senderLoginMap ?? ConfigOption.noneKeyword)
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private static func list(_ items: [String]) -> String {
        items.isEmpty ? ConfigOption.noneKeyword : items.joined(separator: ", ")
    }
}

/// What the listener does with a bare CR or LF inside a message: the
/// default refuses the message (no SMTP smuggling); `normalize` repairs it.
public enum BareLineEndings: String, Sendable, Equatable {
    case reject
    case normalize
}

/// The options of `postern.conf`, in the order `render()` prints them, with
/// their canonical spelling as raw value.
enum ConfigOption: String, CaseIterable, Sendable {
    case myHostname = "MyHostname"
    case localDomains = "LocalDomains"
    case listen = "Listen"
    case configDirectory = "ConfigDirectory"
    case queueDirectory = "QueueDirectory"
    case emptyDirectory = "EmptyDirectory"
    case mailDirectory = "MailDirectory"
    case safeFileEnvironment = "SafeFileEnvironment"
    case smrshDirectory = "SmrshDirectory"
    case runDirectory = "RunDirectory"
    case logFile = "LogFile"
    case logFacility = "LogFacility"
    case maxMessageSize = "MaxMessageSize"
    case maxRecipientsPerMessage = "MaxRecipientsPerMessage"
    case smtpGreetingMessage = "SmtpGreetingMessage"
    case privacyOptions = "PrivacyOptions"
    case localWorkerLimit = "LocalWorkerLimit"
    case localWorkerIdleTimeout = "LocalWorkerIdleTimeout"
    case shutdownTimeout = "ShutdownTimeout"
    case mailGroup = "MailGroup"
    case maxHopCount = "MaxHopCount"
    case maxConnections = "MaxConnections"
    case maxConnectionsPerClient = "MaxConnectionsPerClient"
    case maxConnectionRatePerClient = "MaxConnectionRatePerClient"
    case maxErrorsPerSession = "MaxErrorsPerSession"
    case commandTimeout = "Timeout.command"
    case dataBlockTimeout = "Timeout.datablock"
    case bareLineEndings = "BareLineEndings"
    case dnsBlocklists = "DnsBlocklists"
    case dnsResolvers = "DnsResolvers"
    case queueReturn = "Timeout.queuereturn"
    case queueWarn = "Timeout.queuewarn"
    case queueRetryMinimum = "QueueRetryMinimum"
    case queueRetryMaximum = "QueueRetryMaximum"
    case queueMinFree = "QueueMinFree"
    case ipcTimeout = "Timeout.ipc"
    case watchdogTimeout = "Timeout.watchdog"
    case queueAdminGroup = "QueueAdminGroup"
    case homeMailbox = "HomeMailbox"
    case defaultUser = "DefaultUser"
    case pipeTimeout = "PipeTimeout"
    case masqueradeAs = "MasqueradeAs"
    case masqueradeDomains = "MasqueradeDomains"
    case exposedUsers = "ExposedUsers"
    case masqueradeEntireDomain = "MasqueradeEntireDomain"
    case masqueradeEnvelope = "MasqueradeEnvelope"
    case alwaysAddDomain = "AlwaysAddDomain"
    case smartHost = "SmartHost"
    case smtpPort = "SmtpPort"
    case tlsClientPolicy = "TLSClientPolicy"
    case tlsClientCAFile = "TLSClientCAFile"
    case destinationConcurrency = "DestinationConcurrency"
    case destinationRate = "DestinationRate"
    case connectTimeout = "Timeout.connect"
    case connectionCacheTime = "ConnectionCacheTime"
    case tlsCertificateFile = "TLSCertificateFile"
    case tlsKeyFile = "TLSKeyFile"
    case tlsCAFile = "TLSCAFile"
    case tlsCipherList = "TLSCipherList"
    case tlsCipherSuites = "TLSCipherSuites"
    case tlsMinVersion = "TLSMinVersion"
    case tlsRequestClientCertificate = "TLSRequestClientCertificate"
    case authMechanisms = "AuthMechanisms"
    case authAllowCleartext = "AuthAllowCleartext"
    case authMaxFailures = "AuthMaxFailures"
    case saslPasswordCheck = "SaslPasswordCheck"
    case saslDbFile = "SaslDbFile"
    case saslauthdSocket = "SaslauthdSocket"
    case senderLoginMap = "SenderLoginMap"

    /// `LogFile = syslog`: the explicit way to say "no log file", so that
    /// `render()` can name the default. Not a path, so it cannot clash.
    static let syslogKeyword = "syslog"
    /// An empty list (no block lists; the resolvers of /etc/resolv.conf).
    static let noneKeyword = "none"

    /// Only Listen may appear more than once: each line adds a socket. For
    /// any other option a second line is almost always a forgotten first
    /// one, and silently letting the last win hides that.
    var isRepeatable: Bool { self == .listen }

    /// Names are matched case-insensitively, as Sendmail does.
    static let byLowercasedName: [String: ConfigOption] = {
        var table: [String: ConfigOption] = [:]
        for option in allCases { table[ConfigText.asciiLowercased(option.rawValue)] = option }
        return table
    }()

    /// The config field of each directory option, so that one code path
    /// parses and checks all seven.
    var directoryKeyPath: WritableKeyPath<PosternConfig, String>? {
        switch self {
        case .configDirectory: return \.configDirectory
        case .queueDirectory: return \.queueDirectory
        case .emptyDirectory: return \.emptyDirectory
        case .mailDirectory: return \.mailDirectory
        case .safeFileEnvironment: return \.safeFileEnvironment
        case .smrshDirectory: return \.smrshDirectory
        case .runDirectory: return \.runDirectory
        default: return nil
        }
    }
}
