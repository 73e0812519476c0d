/// Every option of `postern.conf`, one row each, in the order `render()`
/// prints them (`postern check` shows this order, and the integration test
/// pins it). The defaults are the initial values of the properties in
/// `PosternConfig` and its parts (Swift wants a stored property set before
/// `self` can be handed to anything, so the table cannot fill them in).
/// To add an option: its property with its default, and its row here.
extension ConfigOption {
    static let allCases: [ConfigOption] = [
        myHostname,
        localDomains,
        listen,
        .option("ConfigDirectory", \.configDirectory, .path, check: .directory),
        .option("QueueDirectory", \.queueDirectory, .path, check: .directory),
        .option("DropDirectory", \.dropDirectory, .path, check: .directory),
        .option("EmptyDirectory", \.emptyDirectory, .path, check: .directory),
        .option("MailDirectory", \.mailDirectory, .path, check: .directory),
        .option("SafeFileEnvironment", \.safeFileEnvironment, .path, check: .directory),
        .option("SmrshDirectory", \.smrshDirectory, .path, check: .directory),
        .option("RunDirectory", \.runDirectory, .path, check: .directory),
        .option("LogFile", \.logFile, .optional(.filePath, keyword: syslogKeyword), check: .logFile),
        .option("LogFacility", \.logFacility, .keyword("is not a facility (mail, daemon, local0 to local7)")),
        .option("MaxMessageSize", \.maxMessageSize, .size),
        .option("MaxRecipientsPerMessage", \.maxRecipientsPerMessage, .count(in: 1...100_000)),
        smtpGreetingMessage,
        .option("PrivacyOptions", \.privacyOptions, .privacyOptions),
        .option("LocalWorkerLimit", \.localWorkerLimit, .count(in: 1...10_000)),
        // Up to a day: a worker idle longer than that is a process kept for
        // nothing, and the number was probably a typo.
        .option("LocalWorkerIdleTimeout", \.localWorkerIdleTimeout, .duration(in: 1...86_400)),
        // 0 means "do not wait"; an hour is more than any drain needs and a
        // restart should not hang longer than that.
        .option("ShutdownTimeout", \.shutdownTimeout, .duration(in: 0...3_600)),
        .option("MailGroup", \.mailGroup, .groupName, check: .group(checkingDefault: true)),
        .option("MaxHopCount", \.maxHopCount, .count(in: 1...1_000)),
        // A million is beyond any descriptor table; more is a typo.
        .option("MaxConnections", \.maxConnections, .count(in: 1...1_000_000)),
        .option("MaxConnectionsPerClient", \.maxConnectionsPerClient, .count(in: 1...1_000_000)),
        .option("MaxConnectionRatePerClient", \.maxConnectionRatePerClient, .count(in: 0...1_000_000)),
        .option("MaxErrorsPerSession", \.maxErrorsPerSession, .count(in: 1...1_000)),
        // RFC 5321 §4.5.3.2 asks for at least five minutes; less is allowed
        // for a busy server, but not less than ten seconds.
        .option("Timeout.command", \.commandTimeout, .duration(in: 10...3_600)),
        .option("Timeout.datablock", \.dataBlockTimeout, .duration(in: 10...3_600)),
        .option("BareLineEndings", \.bareLineEndings, .keyword("is neither reject nor normalize")),
        .option("DnsBlocklists", \.dnsBlocklists, .orNone(.domains)),
        .option("DnsResolvers", \.dnsResolvers, .orNone(.resolvers)),
        .option("Timeout.queuereturn", \.queueReturn, .duration(in: 1...(365 * 86_400))),
        .option("Timeout.queuewarn", \.queueWarn, .duration(in: 0...(365 * 86_400))),
        queueRetryMinimum,
        queueRetryMaximum,
        queueMinFree,
        .option("Timeout.ipc", \.ipcTimeout, .duration(in: 1...3_600)),
        .option("Timeout.watchdog", \.watchdogTimeout, .duration(in: 2...3_600)),
        .option("QueueAdminGroup", \.queueAdminGroup, .groupName, check: .group(checkingDefault: false)),
        .option("TrustedUsers", \.trustedUsers, .orNone(.users)),
        .option("HomeMailbox", \.homeMailbox, .orNone(.maildir)),
        .option("DefaultUser", \.addressing.defaultUser, .userName, check: .user),
        .option("PipeTimeout", \.addressing.pipeTimeout, .duration(in: 1...86_400)),
        .option("MasqueradeAs", \.addressing.masqueradeAs, .orNone(.hostName)),
        .option("MasqueradeDomains", \.addressing.masqueradeDomains, .orNone(.masqueradeDomains)),
        .option("ExposedUsers", \.addressing.exposedUsers, .orNone(.users)),
        .option("MasqueradeEntireDomain", \.addressing.masqueradeEntireDomain, .yesNo),
        .option("MasqueradeEnvelope", \.addressing.masqueradeEnvelope, .yesNo),
        .option("AlwaysAddDomain", \.addressing.alwaysAddDomain, .yesNo),
        .option("SmartHost", \.relay.smartHost, .orNone(.smartHost)),
        .option("SmtpPort", \.relay.smtpPort, .port),
        .option("TLSClientPolicy", \.relay.tlsPolicy, .keyword("is not none, may, encrypt or verify")),
        .option("TLSClientCAFile", \.relay.tlsCAFile, .path),
        .option("DestinationConcurrency", \.relay.destinationConcurrency, .count(in: 1...1_000)),
        .option("DestinationRate", \.relay.destinationRate, .count(in: 0...1_000_000)),
        .option("Timeout.connect", \.relay.connectTimeout, .duration(in: 1...600)),
        .option("ConnectionCacheTime", \.relay.connectionCacheTime, .duration(in: 0...3_600)),
        tlsCertificateFile,
        tlsKeyFile,
        .option("TLSCAFile", \.security.tlsCAFile, .optional(.path), restart: .tlsAndSASL),
        .option("TLSCipherList", \.security.tlsCipherList, .cipherString, restart: .tlsAndSASL),
        .option("TLSCipherSuites", \.security.tlsCipherSuites, .cipherString, restart: .tlsAndSASL),
        .option(
            "TLSMinVersion", \.security.tlsMinVersion, .keyword("is neither 1.2 nor 1.3 (older TLS is not offered)"),
            restart: .tlsAndSASL),
        .option("TLSRequestClientCertificate", \.security.tlsRequestClientCertificate, .yesNo),
        .option("AuthMechanisms", \.security.authMechanisms, .mechanisms),
        .option("AuthAllowCleartext", \.security.authAllowCleartext, .yesNo),
        .option("AuthMaxFailures", \.security.authMaxFailures, .count(in: 1...100)),
        .option(
            "SaslPasswordCheck", \.security.saslPasswordCheck, .keyword("is neither auxprop nor saslauthd"),
            restart: .tlsAndSASL),
        saslDbFile,
        saslauthdSocket,
        senderLoginMap,
    ]

    // The rows the loader's post-pass (ConfigPostPass.swift) names; they are
    // in the table above like any other. Listen has its own file.

    /// Defaults to the system's host name.
    static let myHostname = option("MyHostname", \.myHostname, .hostName)
    /// Defaults to MyHostname.
    static let localDomains = option("LocalDomains", \.localDomains, .domains)
    /// Its expanded length is checked once MyHostname is known.
    static let smtpGreetingMessage = option("SmtpGreetingMessage", \.smtpGreetingMessage, .greeting)
    /// The maximum is at least the minimum.
    static let queueRetryMinimum = option("QueueRetryMinimum", \.queueRetryMinimum, .duration(in: 1...86_400))
    static let queueRetryMaximum = option("QueueRetryMaximum", \.queueRetryMaximum, .duration(in: 1...86_400))
    /// Follows MaxMessageSize unless set, and is always more than it.
    static let queueMinFree = option("QueueMinFree", \.queueMinFree, .size)
    /// The certificate and its key go together.
    static let tlsCertificateFile = option(
        "TLSCertificateFile", \.security.tlsCertificateFile, .optional(.path), restart: .tlsAndSASL)
    static let tlsKeyFile = option("TLSKeyFile", \.security.tlsKeyFile, .optional(.path), restart: .tlsAndSASL)
    /// The SASL files default to ConfigDirectory and must be inside it, as
    /// must the sender-login map: the lookup sees nothing else.
    static let saslDbFile = option("SaslDbFile", \.security.saslDbFile, .path, restart: .tlsAndSASL)
    static let saslauthdSocket = option("SaslauthdSocket", \.security.saslauthdSocket, .path, restart: .tlsAndSASL)
    static let senderLoginMap = option("SenderLoginMap", \.security.senderLoginMap, .optional(.path))
}
