/// What can only be settled after the last line, because it depends on
/// several options or on whether the file set one: the defaults that follow
/// other options, the rules that tie options together, and the file-system
/// checks of options left at their defaults (reported on line 0).
extension ConfigParser {
    /// The default host name (and the local domain it gives), the SASL and
    /// TLS rules, the queue's times and space, the greeting's expanded
    /// length, and the defaults' file-system checks.
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
            if let problem = option.defaultProblem(config) { fail(0, option, "\(problem) (default value)") }
        }
    }

    /// The SASL files default to the configuration directory, and must be
    /// inside it wherever they are: the lookup sees nothing else. TLS needs
    /// a key with its certificate, and the other way round.
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
}
