/// Reads `postern.conf`: `Name = value` lines; blank lines and lines whose
/// first non-blank character is `#` are comments. There are no trailing
/// comments, so a value (a greeting) may hold `#`. Every problem is reported,
/// each as `FILE:LINE: reason`, so one `postern check` lists them all.
public enum ConfigLoader {
    /// Parses configuration text.
    ///
    /// - Parameter checkFileSystem: also verify that the directories exist and
    ///   are directories, that LogFile's directory exists and that MailGroup
    ///   is a known group. The master and `postern check` ask for this;
    ///   chrooted children parse the text they were handed without it,
    ///   because from inside their jail those paths do not exist.
    public static func parse(text: String, file: String, checkFileSystem: Bool) -> Result<PosternConfig, ConfigErrors> {
        parse(text: text, file: file, checkFileSystem: checkFileSystem, systemHostName: ConfigSystem.systemHostName)
    }

    /// The same, with the source of the default host name replaceable, so
    /// tests can pin it (and give a bad one).
    static func parse(
        text: String, file: String, checkFileSystem: Bool,
        systemHostName: () -> Result<String, ConfigValueError>
    ) -> Result<PosternConfig, ConfigErrors> {
        var parser = ConfigParser(file: file, checkFileSystem: checkFileSystem)
        var number = 0
        for line in text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false) {
            number += 1
            parser.parseLine(Substring(line), number: number)
        }
        parser.finish(systemHostName: systemHostName)
        return parser.errors.isEmpty ? .success(parser.config) : .failure(ConfigErrors(parser.errors))
    }

    /// Reads the file with open/read and parses it with the file-system
    /// checks on. A file that cannot be read is one error on line 0; lines
    /// that are not UTF-8 are reported by number and nothing else is parsed
    /// (the text around them cannot be trusted to mean what it seems).
    public static func load(path: String) -> Result<PosternConfig, ConfigErrors> {
        let bytes: [UInt8]
        switch ConfigSystem.readFile(path) {
        case .success(let contents):
            bytes = contents
        case .failure(.system(let message)):
            return .failure(ConfigErrors([ConfigError(file: path, line: 0, reason: "cannot read: \(message)")]))
        case .failure(.tooLarge):
            return .failure(
                ConfigErrors([
                    ConfigError(
                        file: path, line: 0,
                        reason: "larger than \(ConfigSystem.maxFileSize) bytes; not a configuration file")
                ]))
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            var errors: [ConfigError] = []
            for (index, line) in bytes.split(separator: 0x0A, omittingEmptySubsequences: false).enumerated()
            where String(validating: line, as: UTF8.self) == nil {
                errors.append(ConfigError(file: path, line: index + 1, reason: "not valid UTF-8"))
            }
            return .failure(ConfigErrors(errors))
        }
        return parse(text: text, file: path, checkFileSystem: true)
    }
}

/// The state of one parse: the config so far, the errors so far, and where
/// each option was first set (for duplicate errors and the post-pass).
struct ConfigParser {
    let file: String
    let checkFileSystem: Bool
    var config: PosternConfig
    var errors: [ConfigError] = []
    var firstLine: [ConfigOption: Int] = [:]
    var listenLines: [ListenAddress: Int] = [:]

    /// A greeting this long (plus "220 " and CRLF) still fits the 512-byte
    /// reply line of RFC 5321 §4.5.3.1.5.
    static let maxExpandedGreeting = 512 - 6
    /// The longest date `$b` expands to: "Wed, 31 Dec 2025 23:59:59 +0000".
    static let longestDate = String(repeating: "x", count: 31)

    init(file: String, checkFileSystem: Bool) {
        self.file = file
        self.checkFileSystem = checkFileSystem
        // The host name is filled in by finish() when the file does not set it.
        self.config = PosternConfig(sourcePath: file, myHostname: "")
    }

    mutating func fail(_ line: Int, _ reason: String) {
        errors.append(ConfigError(file: file, line: line, reason: reason))
    }

    mutating func fail(_ line: Int, _ option: ConfigOption, _ reason: String) {
        fail(line, "\(option.rawValue): \(reason)")
    }

    mutating func parseLine(_ raw: Substring, number: Int) {
        var scalars = raw.unicodeScalars
        // A file written on Windows ends lines with CRLF; the CR is not part
        // of the value. A CR anywhere else stays and is judged by the value.
        if scalars.last == "\r" { scalars.removeLast() }
        let line = ConfigText.trimmed(Substring(scalars))
        if line.isEmpty || line.unicodeScalars.first == "#" { return }
        guard let equals = line.unicodeScalars.firstIndex(of: "=") else {
            fail(number, "missing \"=\" in \(ConfigText.quoted(line)) (expected \"Name = value\")")
            return
        }
        let name = ConfigText.trimmed(line[..<equals])
        let value = String(ConfigText.trimmed(line[line.unicodeScalars.index(after: equals)...]))
        guard !name.isEmpty else {
            fail(number, "missing option name before \"=\"")
            return
        }
        guard let option = ConfigOption.byLowercasedName[ConfigText.asciiLowercased(name)] else {
            fail(number, "unknown option \(ConfigText.quoted(name))")
            return
        }
        if let first = firstLine[option] {
            if !option.isRepeatable {
                fail(number, "duplicate option \"\(option.rawValue)\" (first set on line \(first))")
                return
            }
        } else {
            firstLine[option] = number
        }
        guard !value.isEmpty else {
            fail(number, option, "missing value")
            return
        }
        apply(option, value: value, line: number)
    }

    /// Parses one value into the config, or records why not.
    mutating func apply(_ option: ConfigOption, value: String, line: Int) {
        do throws(ConfigValueError) {
            switch option {
            case .myHostname:
                config.myHostname = try ConfigValue.hostName(value)
            case .localDomains:
                switch ConfigValue.domainList(value) {
                case .success(let domains): config.localDomains = domains
                case .failure(let reasons): for r in reasons.all { fail(line, option, r.reason) }
                }
            case .listen:
                let words = value.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
                guard (1...2).contains(words.count) else {
                    throw ConfigValueError("\(ConfigText.quoted(value)) is not ADDR:PORT [smtp|submission|submissions]")
                }
                let address = try ListenAddress.parse(words[0])
                let kind = words.count == 2 ? ListenKind.parse(words[1]) : .smtp
                guard let kind else {
                    throw ConfigValueError(
                        "\(ConfigText.quoted(words[1])) is not a listener kind (smtp, submission, submissions)")
                }
                if let earlier = listenLines[address] {
                    throw ConfigValueError("\(address) is already listed on line \(earlier)")
                }
                // The first Listen line replaces the default; later ones add.
                if listenLines.isEmpty { config.listen = [] }
                listenLines[address] = line
                config.listen.append(address)
                config.listenKinds[address] = kind == .smtp ? nil : kind
            case .configDirectory, .queueDirectory, .emptyDirectory, .mailDirectory,
                .safeFileEnvironment, .smrshDirectory, .runDirectory:
                let path = try ConfigValue.absolutePath(value)
                if let keyPath = option.directoryKeyPath { config[keyPath: keyPath] = path }
                if checkFileSystem, let problem = ConfigSystem.directoryProblem(path) {
                    throw ConfigValueError("\(path): \(problem)")
                }
            case .logFile:
                if ConfigText.asciiLowercased(value) == ConfigOption.syslogKeyword {
                    config.logFile = nil
                    return
                }
                let path = try ConfigValue.absolutePath(value)
                guard path != "/" else { throw ConfigValueError("must name a file") }
                config.logFile = path
                if checkFileSystem, let problem = ConfigSystem.logFileProblem(path) {
                    throw ConfigValueError("\(path): \(problem)")
                }
            case .logFacility:
                guard let facility = LogFacility(rawValue: ConfigText.asciiLowercased(value)) else {
                    throw ConfigValueError(
                        "\(ConfigText.quoted(value)) is not a facility (mail, daemon, local0 to local7)")
                }
                config.logFacility = facility
            case .maxMessageSize:
                config.maxMessageSize = try ConfigValue.size(value)
            case .maxRecipientsPerMessage:
                config.maxRecipientsPerMessage = try ConfigValue.integer(value, in: 1...100_000)
            case .smtpGreetingMessage:
                config.smtpGreetingMessage = try ConfigValue.greeting(value)
            case .privacyOptions:
                switch ConfigValue.privacyOptions(value) {
                case .success(let flags): config.privacyOptions = flags
                case .failure(let reasons): for r in reasons.all { fail(line, option, r.reason) }
                }
            case .localWorkerLimit:
                config.localWorkerLimit = try ConfigValue.integer(value, in: 1...10_000)
            case .localWorkerIdleTimeout:
                // Up to a day: a worker idle longer than that is a process
                // kept for nothing, and the number was probably a typo.
                config.localWorkerIdleTimeout = try ConfigValue.duration(value, in: 1...86_400)
            case .shutdownTimeout:
                // 0 means "do not wait"; an hour is more than any drain needs
                // and a restart should not hang longer than that.
                config.shutdownTimeout = try ConfigValue.duration(value, in: 0...3_600)
            case .mailGroup:
                config.mailGroup = try ConfigValue.groupName(value)
                if checkFileSystem, let problem = ConfigSystem.groupProblem(value) {
                    throw ConfigValueError(problem)
                }
            case .maxHopCount:
                config.maxHopCount = try ConfigValue.integer(value, in: 1...1_000)
            case .maxConnections:
                // A million is beyond any descriptor table; more is a typo.
                config.maxConnections = try ConfigValue.integer(value, in: 1...1_000_000)
            case .maxConnectionsPerClient:
                config.maxConnectionsPerClient = try ConfigValue.integer(value, in: 1...1_000_000)
            case .maxConnectionRatePerClient:
                config.maxConnectionRatePerClient = try ConfigValue.integer(value, in: 0...1_000_000)
            case .maxErrorsPerSession:
                config.maxErrorsPerSession = try ConfigValue.integer(value, in: 1...1_000)
            case .commandTimeout:
                // RFC 5321 §4.5.3.2 asks for at least five minutes; less is
                // allowed for a busy server, but not less than ten seconds.
                config.commandTimeout = try ConfigValue.duration(value, in: 10...3_600)
            case .dataBlockTimeout:
                config.dataBlockTimeout = try ConfigValue.duration(value, in: 10...3_600)
            case .bareLineEndings:
                guard let mode = BareLineEndings(rawValue: ConfigText.asciiLowercased(value)) else {
                    throw ConfigValueError("\(ConfigText.quoted(value)) is neither reject nor normalize")
                }
                config.bareLineEndings = mode
            case .dnsBlocklists:
                if ConfigText.asciiLowercased(value) == ConfigOption.noneKeyword {
                    config.dnsBlocklists = []
                    return
                }
                switch ConfigValue.domainList(value) {
                case .success(let zones): config.dnsBlocklists = zones
                case .failure(let reasons): for r in reasons.all { fail(line, option, r.reason) }
                }
            case .dnsResolvers:
                if ConfigText.asciiLowercased(value) == ConfigOption.noneKeyword {
                    config.dnsResolvers = []
                    return
                }
                var servers: [ListenAddress] = []
                for item in value.split(whereSeparator: { $0 == "," || $0 == " " }) {
                    let text = String(item)
                    // A bare address means port 53.
                    let withPort =
                        text.contains(":") && !text.hasPrefix("[") && text.split(separator: ":").count > 2
                        ? "[\(text)]:53" : (text.contains(":") ? text : "\(text):53")
                    servers.append(try ListenAddress.parse(withPort))
                }
                config.dnsResolvers = servers
            case .queueReturn:
                config.queueReturn = try ConfigValue.duration(value, in: 1...(365 * 86_400))
            case .queueWarn:
                config.queueWarn = try ConfigValue.duration(value, in: 0...(365 * 86_400))
            case .queueRetryMinimum:
                config.queueRetryMinimum = try ConfigValue.duration(value, in: 1...86_400)
            case .queueRetryMaximum:
                config.queueRetryMaximum = try ConfigValue.duration(value, in: 1...86_400)
            case .queueMinFree:
                config.queueMinFree = try ConfigValue.size(value)
            case .ipcTimeout:
                config.ipcTimeout = try ConfigValue.duration(value, in: 1...3_600)
            case .watchdogTimeout:
                config.watchdogTimeout = try ConfigValue.duration(value, in: 2...3_600)
            case .homeMailbox:
                if ConfigText.asciiLowercased(value) == ConfigOption.noneKeyword {
                    config.homeMailbox = ""
                    return
                }
                // A Maildir below the home: relative, no "..", ending in "/".
                let parts = value.split(separator: "/", omittingEmptySubsequences: false)
                guard value.hasSuffix("/"), !value.hasPrefix("/"),
                    !parts.dropLast().contains(where: {
                        $0.isEmpty || $0 == "." || $0 == ".." || $0.utf8.contains { $0 < 0x21 || $0 > 0x7E }
                    })
                else {
                    throw ConfigValueError(
                        "\(ConfigText.quoted(value)) is not a Maildir below the home (like Maildir/; mbox: none)")
                }
                config.homeMailbox = value
            case .defaultUser:
                config.addressing.defaultUser = try ConfigValue.userName(value)
                if checkFileSystem, let problem = ConfigSystem.userProblem(value) { throw ConfigValueError(problem) }
            case .pipeTimeout:
                config.addressing.pipeTimeout = try ConfigValue.duration(value, in: 1...86_400)
            case .masqueradeAs:
                config.addressing.masqueradeAs =
                    ConfigText.asciiLowercased(value) == ConfigOption.noneKeyword ? "" : try ConfigValue.hostName(value)
            case .masqueradeDomains, .exposedUsers:
                let none = ConfigText.asciiLowercased(value) == ConfigOption.noneKeyword
                if option == .exposedUsers {
                    var users: [String] = []
                    if !none {
                        for item in value.unicodeScalars.split(whereSeparator: { $0 == "," || ConfigText.isBlank($0) })
                        {
                            users.append(try ConfigValue.userName(String(item)))
                        }
                    }
                    config.addressing.exposedUsers = users
                    return
                }
                if none {
                    config.addressing.masqueradeDomains = []
                    return
                }
                switch ConfigValue.masqueradeDomains(value) {
                case .success(let domains): config.addressing.masqueradeDomains = domains
                case .failure(let reasons): for r in reasons.all { fail(line, option, r.reason) }
                }
            case .masqueradeEntireDomain:
                config.addressing.masqueradeEntireDomain = try ConfigValue.boolean(value)
            case .masqueradeEnvelope:
                config.addressing.masqueradeEnvelope = try ConfigValue.boolean(value)
            case .alwaysAddDomain:
                config.addressing.alwaysAddDomain = try ConfigValue.boolean(value)
            case .smartHost:
                config.relay.smartHost =
                    ConfigText.asciiLowercased(value) == ConfigOption.noneKeyword
                    ? "" : try ConfigValue.smartHost(value)
            case .smtpPort:
                config.relay.smtpPort = UInt16(try ConfigValue.integer(value, in: 1...65_535))
            case .tlsClientPolicy:
                guard let policy = TLSClientPolicy(rawValue: ConfigText.asciiLowercased(value)) else {
                    throw ConfigValueError("\(ConfigText.quoted(value)) is not none, may, encrypt or verify")
                }
                config.relay.tlsPolicy = policy
            case .tlsClientCAFile:
                config.relay.tlsCAFile = try ConfigValue.absolutePath(value)
            case .destinationConcurrency:
                config.relay.destinationConcurrency = try ConfigValue.integer(value, in: 1...1_000)
            case .destinationRate:
                config.relay.destinationRate = try ConfigValue.integer(value, in: 0...1_000_000)
            case .connectTimeout:
                config.relay.connectTimeout = try ConfigValue.duration(value, in: 1...600)
            case .connectionCacheTime:
                config.relay.connectionCacheTime = try ConfigValue.duration(value, in: 0...3_600)
            case .queueAdminGroup:
                config.queueAdminGroup = try ConfigValue.groupName(value)
                if checkFileSystem, let problem = ConfigSystem.groupProblem(config.queueAdminGroup) {
                    throw ConfigValueError(problem)
                }
            case .tlsCertificateFile, .tlsKeyFile, .tlsCAFile, .senderLoginMap:
                let path: String? =
                    ConfigText.asciiLowercased(value) == ConfigOption.noneKeyword
                    ? nil : try ConfigValue.absolutePath(value)
                switch option {
                case .tlsCertificateFile: config.security.tlsCertificateFile = path
                case .tlsKeyFile: config.security.tlsKeyFile = path
                case .tlsCAFile: config.security.tlsCAFile = path
                default: config.security.senderLoginMap = path
                }
            case .tlsCipherList, .tlsCipherSuites:
                guard !value.isEmpty, !value.contains(" ") else {
                    throw ConfigValueError("\(ConfigText.quoted(value)) is not an OpenSSL cipher string")
                }
                if option == .tlsCipherList {
                    config.security.tlsCipherList = value
                } else {
                    config.security.tlsCipherSuites = value
                }
            case .tlsMinVersion:
                guard let version = TLSMinimumVersion(rawValue: value) else {
                    throw ConfigValueError(
                        "\(ConfigText.quoted(value)) is neither 1.2 nor 1.3 (older TLS is not offered)")
                }
                config.security.tlsMinVersion = version
            case .tlsRequestClientCertificate:
                config.security.tlsRequestClientCertificate = try ConfigValue.boolean(value)
            case .authAllowCleartext:
                config.security.authAllowCleartext = try ConfigValue.boolean(value)
            case .authMechanisms:
                let names = value.split(whereSeparator: { $0 == " " || $0 == "," || $0 == "\t" }).map {
                    String($0).uppercased()
                }
                guard !names.isEmpty else { throw ConfigValueError("no mechanism named") }
                for name in names where !SASLMechanismName.isValid(name) {
                    throw ConfigValueError("\(ConfigText.quoted(name)) is not a SASL mechanism name")
                }
                config.security.authMechanisms = names
            case .authMaxFailures:
                config.security.authMaxFailures = try ConfigValue.integer(value, in: 1...100)
            case .saslPasswordCheck:
                guard let check = SASLPasswordCheck(rawValue: ConfigText.asciiLowercased(value)) else {
                    throw ConfigValueError("\(ConfigText.quoted(value)) is neither auxprop nor saslauthd")
                }
                config.security.saslPasswordCheck = check
            case .saslDbFile:
                config.security.saslDbFile = try ConfigValue.absolutePath(value)
            case .saslauthdSocket:
                config.security.saslauthdSocket = try ConfigValue.absolutePath(value)
            }
        } catch {
            fail(line, option, error.reason)
        }
    }

    /// What can only be settled after the last line: the default host name
    /// (and the local domain it gives), the greeting's expanded length, and
    /// the file-system checks of options left at their defaults (line 0).
    /// The SASL files default to the configuration directory, and must be
    /// inside it wherever they are: the lookup sees nothing else. TLS needs
    /// a key with its certificate, and the other way round.
    /// Retries: the largest delay is at least the first.
    private mutating func finishQueueTimes() {
        if config.queueRetryMaximum < config.queueRetryMinimum {
            fail(
                firstLine[.queueRetryMaximum] ?? firstLine[.queueRetryMinimum] ?? 0, .queueRetryMaximum,
                "\(config.queueRetryMaximum)s is less than QueueRetryMinimum (\(config.queueRetryMinimum)s)")
        }
        // Free space: follows MaxMessageSize unless set, and always above it.
        if firstLine[.queueMinFree] == nil {
            let (twice, overflow) = config.maxMessageSize.multipliedReportingOverflow(
                by: PosternConfig.Defaults.queueMinFreeFactor)
            config.queueMinFree = overflow ? Int.max : twice
        } else if config.queueMinFree <= config.maxMessageSize {
            fail(
                firstLine[.queueMinFree] ?? 0, .queueMinFree,
                "\(ConfigValue.renderSize(config.queueMinFree)) is not more than MaxMessageSize "
                    + "(\(ConfigValue.renderSize(config.maxMessageSize))): a message of the largest size must fit")
        }
    }

    private mutating func finishSecurity() {
        let defaults = SecurityConfig(configDirectory: config.configDirectory)
        if firstLine[.saslDbFile] == nil { config.security.saslDbFile = defaults.saslDbFile }
        if firstLine[.saslauthdSocket] == nil { config.security.saslauthdSocket = defaults.saslauthdSocket }
        let inside = config.configDirectory.hasSuffix("/") ? config.configDirectory : config.configDirectory + "/"
        for (option, path) in [
            (ConfigOption.saslDbFile, config.security.saslDbFile),
            (.saslauthdSocket, config.security.saslauthdSocket),
            (.senderLoginMap, config.security.senderLoginMap),
        ] {
            guard let path, !path.hasPrefix(inside) || path.contains("/../") else { continue }
            fail(
                firstLine[option] ?? 0, option,
                "\(path) is not inside ConfigDirectory \(config.configDirectory) (the lookup process sees nothing else)"
            )
        }
        let security = config.security
        if (security.tlsCertificateFile == nil) != (security.tlsKeyFile == nil) {
            fail(
                firstLine[.tlsCertificateFile] ?? firstLine[.tlsKeyFile] ?? 0,
                "TLSCertificateFile and TLSKeyFile go together: set both, or neither")
        }
        if security.tlsCertificateFile == nil,
            let tlsOnly = config.listen.first(where: { config.kind(of: $0).implicitTLS })
        {
            fail(
                listenLines[tlsOnly] ?? 0, .listen,
                "\(tlsOnly) is a submissions (TLS) listener, but no TLSCertificateFile is set")
        }
    }

    mutating func finish(systemHostName: () -> Result<String, ConfigValueError>) {
        if firstLine[.myHostname] == nil {
            switch systemHostName() {
            case .success(let name):
                do throws(ConfigValueError) {
                    config.myHostname = try ConfigValue.hostName(ConfigText.asciiLowercased(name))
                } catch {
                    fail(
                        0, .myHostname,
                        "the system host name \(ConfigText.quoted(name)) is not usable (\(error.reason)); set MyHostname"
                    )
                }
            case .failure(let error):
                fail(0, .myHostname, "cannot read the system host name (\(error.reason)); set MyHostname")
            }
        }
        if firstLine[.localDomains] == nil && !config.myHostname.isEmpty {
            config.localDomains = [config.myHostname]
        }
        finishSecurity()
        finishQueueTimes()
        let expanded = ConfigValue.expandGreeting(
            config.smtpGreetingMessage, hostName: config.myHostname, date: Self.longestDate)
        if expanded.utf8.count > Self.maxExpandedGreeting {
            fail(
                firstLine[.smtpGreetingMessage] ?? 0, .smtpGreetingMessage,
                "too long once $j and $b are expanded (\(expanded.utf8.count) bytes; at most \(Self.maxExpandedGreeting))"
            )
        }
        guard checkFileSystem else { return }
        for option in ConfigOption.allCases where firstLine[option] == nil {
            if let keyPath = option.directoryKeyPath {
                let path = config[keyPath: keyPath]
                if let problem = ConfigSystem.directoryProblem(path) {
                    fail(0, option, "\(path): \(problem) (default value)")
                }
            }
        }
        if firstLine[.mailGroup] == nil, let problem = ConfigSystem.groupProblem(config.mailGroup) {
            fail(0, .mailGroup, "\(problem) (default value)")
        }
    }
}
