import XCTest

@testable import PosternCore

/// Parses with the default host name pinned, so the tests do not depend on
/// the machine they run on, and without file-system checks.
func parseConfig(
    _ text: String, file: String = "test.conf", host: String = "MX.Example.org",
    checkFileSystem: Bool = false
) -> Result<PosternConfig, ConfigErrors> {
    ConfigLoader.parse(text: text, file: file, checkFileSystem: checkFileSystem, systemHostName: { .success(host) })
}

/// The config, or a test failure naming every error.
func parsedConfig(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> PosternConfig? {
    switch parseConfig(text) {
    case .success(let config): return config
    case .failure(let errors):
        XCTFail("unexpected errors:\n\(errors)", file: file, line: line)
        return nil
    }
}

/// The error lines, or a test failure when the text parsed.
func configErrors(
    _ text: String, file: String = "test.conf", checkFileSystem: Bool = false,
    sourceFile: StaticString = #filePath, line: UInt = #line
) -> [String] {
    switch parseConfig(text, file: file, checkFileSystem: checkFileSystem) {
    case .success:
        XCTFail("parsed without errors", file: sourceFile, line: line)
        return []
    case .failure(let errors): return errors.errors.map(\.description)
    }
}

final class ConfigTests: XCTestCase {
    func testEmptyFileGivesDefaults() throws {
        let config = try XCTUnwrap(parsedConfig(""))
        XCTAssertEqual(config.sourcePath, "test.conf")
        XCTAssertEqual(config.myHostname, "mx.example.org", "the system host name, lower case")
        XCTAssertEqual(config.localDomains, ["mx.example.org"])
        XCTAssertEqual(config.listen, [ListenAddress(host: "127.0.0.1", port: 25, isIPv6: false)])
        XCTAssertEqual(config.configDirectory, "/etc/postern")
        XCTAssertEqual(config.queueDirectory, "/var/spool/postern")
        XCTAssertEqual(config.emptyDirectory, "/var/lib/postern/empty")
        XCTAssertEqual(config.mailDirectory, "/var/mail")
        XCTAssertEqual(config.safeFileEnvironment, "/var/mailjail")
        XCTAssertEqual(config.smrshDirectory, "/etc/postern/smrsh")
        XCTAssertEqual(config.runDirectory, "/run/postern")
        XCTAssertNil(config.logFile)
        XCTAssertEqual(config.logFacility, .mail)
        XCTAssertEqual(config.maxMessageSize, 10 * 1024 * 1024)
        XCTAssertEqual(config.maxRecipientsPerMessage, 100)
        XCTAssertEqual(config.smtpGreetingMessage, "$j ESMTP")
        XCTAssertEqual(
            config.privacyOptions,
            [
                .needmailhelo, .needexpnhelo, .needvrfyhelo, .noexpn, .novrfy, .noverb, .authwarnings,
                .restrictmailq, .restrictqrun,
            ])
        XCTAssertEqual(config.localWorkerLimit, 64)
        XCTAssertEqual(config.localWorkerIdleTimeout, 60)
        XCTAssertEqual(config.shutdownTimeout, 10)
        XCTAssertEqual(config.mailGroup, "mail")
        XCTAssertEqual(config.maxHopCount, 100)
        XCTAssertEqual(config.maxConnections, 200)
        XCTAssertEqual(
            config, PosternConfig(sourcePath: "test.conf", myHostname: "mx.example.org"),
            "the memberwise defaults and the loader's agree")
    }

    func testDefaultHostNameComesFromTheSystem() throws {
        var buffer = [CChar](repeating: 0, count: 256)
        XCTAssertEqual(gethostname(&buffer, 255), 0)
        let system = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        // Only meaningful where the machine's name is a valid host name.
        guard
            case .success(let expected) = Result(catching: { () throws(ConfigValueError) in
                try ConfigValue.hostName(ConfigText.asciiLowercased(system))
            })
        else { return }
        let config = try ConfigLoader.parse(text: "", file: "f", checkFileSystem: false).get()
        XCTAssertEqual(config.myHostname, expected)
        XCTAssertEqual(config.localDomains, [expected])
    }

    func testEveryOptionParses() throws {
        let text = """
            MyHostname = Mail.Example.COM
            LocalDomains = example.com, Example.NET  example.org,example.com
            Listen = 0.0.0.0:25
            Listen = [::1]:587
            ConfigDirectory = /srv/postern/etc/
            QueueDirectory = /srv//postern/spool
            EmptyDirectory = /srv/postern/empty
            MailDirectory = /srv/mail
            SafeFileEnvironment = /srv/jail
            SmrshDirectory = /srv/smrsh
            RunDirectory = /srv/run
            LogFile = /var/log/postern.log
            LogFacility = LOCAL3
            MaxMessageSize = 25m
            MaxRecipientsPerMessage = 50
            SmtpGreetingMessage = $j mail service; $b
            PrivacyOptions = noexpn, novrfy, noetrn
            LocalWorkerLimit = 16
            LocalWorkerIdleTimeout = 5m
            ShutdownTimeout = 30s
            MailGroup = mailers
            MaxHopCount = 25
            MaxConnections = 1000
            """
        let c = try XCTUnwrap(parsedConfig(text))
        XCTAssertEqual(c.myHostname, "mail.example.com")
        XCTAssertEqual(c.localDomains, ["example.com", "example.net", "example.org"])
        XCTAssertEqual(c.listen.map(\.description), ["0.0.0.0:25", "[::1]:587"])
        XCTAssertEqual(c.configDirectory, "/srv/postern/etc")
        XCTAssertEqual(c.queueDirectory, "/srv/postern/spool")
        XCTAssertEqual(c.emptyDirectory, "/srv/postern/empty")
        XCTAssertEqual(c.mailDirectory, "/srv/mail")
        XCTAssertEqual(c.safeFileEnvironment, "/srv/jail")
        XCTAssertEqual(c.smrshDirectory, "/srv/smrsh")
        XCTAssertEqual(c.runDirectory, "/srv/run")
        XCTAssertEqual(c.logFile, "/var/log/postern.log")
        XCTAssertEqual(c.logFacility, .local3)
        XCTAssertEqual(c.logFacility.value, LOG_LOCAL3)
        XCTAssertEqual(c.maxMessageSize, 25 << 20)
        XCTAssertEqual(c.maxRecipientsPerMessage, 50)
        XCTAssertEqual(c.smtpGreetingMessage, "$j mail service; $b")
        XCTAssertEqual(c.privacyOptions, [.noexpn, .noverb, .novrfy, .noetrn], "noexpn implies noverb")
        XCTAssertEqual(c.localWorkerLimit, 16)
        XCTAssertEqual(c.localWorkerIdleTimeout, 300)
        XCTAssertEqual(c.shutdownTimeout, 30)
        XCTAssertEqual(c.mailGroup, "mailers")
        XCTAssertEqual(c.maxHopCount, 25)
        XCTAssertEqual(c.maxConnections, 1000)
    }

    func testNamesAreCaseInsensitive() throws {
        let c = try XCTUnwrap(
            parsedConfig(
                """
                maxmessagesize = 1k
                MAXRECIPIENTSPERMESSAGE = 7
                queueDIRECTORY = /q
                """))
        XCTAssertEqual(c.maxMessageSize, 1024)
        XCTAssertEqual(c.maxRecipientsPerMessage, 7)
        XCTAssertEqual(c.queueDirectory, "/q")
        // A duplicate is found whatever the spelling, and named canonically.
        XCTAssertEqual(
            configErrors("maxhopcount = 5\nMaxHopCount = 6"),
            ["test.conf:2: duplicate option \"MaxHopCount\" (first set on line 1)"])
    }

    func testCommentsBlankLinesAndWhitespace() throws {
        let c = try XCTUnwrap(
            parsedConfig(
                """
                # a comment
                   # an indented comment = with an equals sign

                \t MaxHopCount\t=\t 42 \t
                #MaxHopCount = 1
                MaxConnections=9\r
                """))
        XCTAssertEqual(c.maxHopCount, 42)
        XCTAssertEqual(c.maxConnections, 9, "a CRLF line ending is accepted")
    }

    func testGreetingKeepsHashAndSpaces() throws {
        let c = try XCTUnwrap(parsedConfig("SmtpGreetingMessage =   $j   ESMTP #1 = best  "))
        XCTAssertEqual(c.smtpGreetingMessage, "$j   ESMTP #1 = best")
        XCTAssertEqual(c.expandedGreeting(date: "Thu, 1 Jan 2026"), "mx.example.org   ESMTP #1 = best")
    }

    func testGreetingExpansion() throws {
        var c = try XCTUnwrap(
            parsedConfig("MyHostname = mx.example.net\nSmtpGreetingMessage = $j ready; $b; costs $$0"))
        XCTAssertEqual(
            c.expandedGreeting(date: "Thu, 01 Jan 2026 10:00:00 +0000"),
            "mx.example.net ready; Thu, 01 Jan 2026 10:00:00 +0000; costs $0")
        c.smtpGreetingMessage = PosternConfig.Defaults.smtpGreetingMessage
        XCTAssertEqual(c.expandedGreeting(date: "x"), "mx.example.net ESMTP")
    }

    func testPrivacyGoawayExpandsAsInSendmail() throws {
        let c = try XCTUnwrap(parsedConfig("PrivacyOptions = GoAway"))
        XCTAssertEqual(
            c.privacyOptions,
            [
                .needmailhelo, .needexpnhelo, .needvrfyhelo, .noexpn, .novrfy, .authwarnings, .noverb,
            ])
        XCTAssertFalse(c.privacyOptions.contains(.restrictmailq))
        let combined = try XCTUnwrap(parsedConfig("PrivacyOptions = goaway , noreceipts,nobodyreturn, noetrn"))
        XCTAssertEqual(combined.privacyOptions, PrivacyOption.goaway.union([.noreceipts, .nobodyreturn, .noetrn]))
    }

    func testPrivacyPublicIsEmpty() throws {
        XCTAssertEqual(try XCTUnwrap(parsedConfig("PrivacyOptions = public")).privacyOptions, [])
        XCTAssertEqual(try XCTUnwrap(parsedConfig("PrivacyOptions = public, novrfy")).privacyOptions, [.novrfy])
    }

    func testPrivacyUnknownFlags() {
        XCTAssertEqual(
            configErrors("PrivacyOptions = goaway, noexpm, restrictmailq, nosuch"),
            [
                "test.conf:1: PrivacyOptions: unknown flag \"noexpm\"",
                "test.conf:1: PrivacyOptions: unknown flag \"nosuch\"",
            ])
        XCTAssertEqual(configErrors("PrivacyOptions = ,"), ["test.conf:1: PrivacyOptions: missing value"])
    }

    func testListenRepeatsAndReplacesTheDefault() throws {
        let c = try XCTUnwrap(
            parsedConfig(
                """
                Listen = 192.0.2.1:25
                Listen = [2001:DB8:0:0::1]:25
                Listen = 192.0.2.1:587
                Listen = [::]:465
                """))
        XCTAssertEqual(
            c.listen,
            [
                ListenAddress(host: "192.0.2.1", port: 25, isIPv6: false),
                ListenAddress(host: "2001:db8::1", port: 25, isIPv6: true),
                ListenAddress(host: "192.0.2.1", port: 587, isIPv6: false),
                ListenAddress(host: "::", port: 465, isIPv6: true),
            ])
        XCTAssertEqual(c.listen[1].description, "[2001:db8::1]:25")
        XCTAssertEqual(ListenAddress(host: "127.0.0.1", port: 2525, isIPv6: false).description, "127.0.0.1:2525")
    }

    func testLocalDomains() throws {
        let c = try XCTUnwrap(parsedConfig("MyHostname = mx.example.org\nLocalDomains = Example.ORG lists.example.org"))
        XCTAssertTrue(c.isLocalDomain("example.org"))
        XCTAssertTrue(c.isLocalDomain("EXAMPLE.org."))
        XCTAssertTrue(c.isLocalDomain("Lists.Example.Org"))
        XCTAssertFalse(c.isLocalDomain("mx.example.org"), "an explicit list is exactly the list")
        XCTAssertFalse(c.isLocalDomain("example.com"))
        XCTAssertFalse(c.isLocalDomain(""))
        XCTAssertFalse(c.isLocalDomain("."))
        let d = try XCTUnwrap(parsedConfig("MyHostname = MX.example.net"))
        XCTAssertEqual(d.localDomains, ["mx.example.net"], "the default follows a configured MyHostname")
        XCTAssertTrue(d.isLocalDomain("mx.EXAMPLE.net"))
    }

    func testLogFileSyslogKeyword() throws {
        XCTAssertNil(try XCTUnwrap(parsedConfig("LogFile = Syslog")).logFile)
    }

    func testLogFacilities() throws {
        for facility in LogFacility.allCases {
            XCTAssertEqual(try XCTUnwrap(parsedConfig("LogFacility = \(facility.rawValue)")).logFacility, facility)
        }
        XCTAssertEqual(LogFacility.mail.value, LOG_MAIL)
        XCTAssertEqual(LogFacility.daemon.value, LOG_DAEMON)
        XCTAssertEqual(LogFacility.local0.value, LOG_LOCAL0)
        XCTAssertEqual(LogFacility.local7.value, LOG_LOCAL7)
    }

    func testSizesAndDurations() throws {
        let cases: [(String, Int)] = [
            ("1", 1), ("512", 512), ("2k", 2048), ("2K", 2048), ("3m", 3 << 20),
            ("1G", 1 << 30), ("1g", 1 << 30),
        ]
        for (text, bytes) in cases {
            XCTAssertEqual(try XCTUnwrap(parsedConfig("MaxMessageSize = \(text)")).maxMessageSize, bytes, text)
        }
        let durations: [(String, Int)] = [
            ("30", 30), ("30s", 30), ("5m", 300), ("1h", 3600), ("1d", 86400), ("2M", 120),
        ]
        for (text, seconds) in durations {
            XCTAssertEqual(
                try XCTUnwrap(parsedConfig("LocalWorkerIdleTimeout = \(text)")).localWorkerIdleTimeout, seconds, text)
        }
        XCTAssertEqual(try XCTUnwrap(parsedConfig("ShutdownTimeout = 0")).shutdownTimeout, 0)
    }

    func testRenderRoundTripsTheDefaults() throws {
        let original = try XCTUnwrap(parsedConfig(""))
        let text = original.render()
        XCTAssertEqual(
            try parseConfig(text, host: "other.example").get(), original,
            "the rendered text names the host, so the system's does not matter")
        XCTAssertTrue(text.contains("\nMyHostname = mx.example.org\n"))
        XCTAssertTrue(text.contains("\nMaxMessageSize = 10M\n"))
        XCTAssertTrue(text.contains("\nPrivacyOptions = goaway, restrictmailq, restrictqrun\n"))
        XCTAssertTrue(text.contains("\nLocalWorkerIdleTimeout = 1m\n"))
        XCTAssertTrue(text.contains("\nLogFile = syslog\n"))
        XCTAssertTrue(text.contains("\nSmtpGreetingMessage = $j ESMTP\n"))
        // Every option appears, in canonical case.
        for option in ConfigOption.allCases {
            XCTAssertTrue(text.contains("\n\(option.rawValue) = "), option.rawValue)
        }
    }

    func testRenderRoundTripsEverything() throws {
        let original = try XCTUnwrap(
            parsedConfig(
                """
                MyHostname = relay.example.com
                LocalDomains = a.example, b.example
                Listen = 10.0.0.1:25
                Listen = [fe80::1:2]:2525
                QueueDirectory = /q
                LogFile = /var/log/p.log
                LogFacility = daemon
                MaxMessageSize = 1000
                MaxRecipientsPerMessage = 3
                SmtpGreetingMessage = # $j $$ hello = world #
                PrivacyOptions = public
                LocalWorkerIdleTimeout = 90
                ShutdownTimeout = 1h
                MailGroup = _mail
                MaxHopCount = 1000
                MaxConnections = 1
                """))
        let rendered = original.render()
        XCTAssertEqual(try parseConfig(rendered).get(), original, rendered)
        XCTAssertTrue(rendered.contains("\nPrivacyOptions = public\n"))
        XCTAssertTrue(rendered.contains("\nLocalWorkerIdleTimeout = 90s\n"))
        XCTAssertTrue(rendered.contains("\nShutdownTimeout = 1h\n"))
        XCTAssertTrue(rendered.contains("\nListen = 10.0.0.1:25\nListen = [fe80::1:2]:2525\n"))

        var edited = original
        edited.privacyOptions = [.noetrn, .restrictexpand]
        edited.maxMessageSize = 3 << 30
        edited.queueMinFree = 7 << 30
        edited.logFile = nil
        edited.logFacility = .local7
        XCTAssertEqual(try parseConfig(edited.render()).get(), edited)
    }

    func testQueueMinFreeFollowsMaxMessageSizeAndStaysAboveIt() throws {
        XCTAssertEqual(try XCTUnwrap(parsedConfig("")).queueMinFree, 20 << 20)
        XCTAssertEqual(try XCTUnwrap(parsedConfig("MaxMessageSize = 50m")).queueMinFree, 100 << 20)
        let set = try XCTUnwrap(parsedConfig("MaxMessageSize = 1m\nQueueMinFree = 3m"))
        XCTAssertEqual(set.queueMinFree, 3 << 20)
        XCTAssertTrue(set.render().contains("\nQueueMinFree = 3M\n"))
        XCTAssertEqual(
            configErrors("MaxMessageSize = 4m\nQueueMinFree = 4m"),
            [
                "test.conf:2: QueueMinFree: 4M is not more than MaxMessageSize (4M): a message of the largest size must fit"
            ])
    }

    func testIPCAndWatchdogTimeouts() throws {
        let defaults = try XCTUnwrap(parsedConfig(""))
        XCTAssertEqual(defaults.ipcTimeout, 120)
        XCTAssertEqual(defaults.watchdogTimeout, 60)
        let set = try XCTUnwrap(parsedConfig("Timeout.ipc = 5s\nTimeout.watchdog = 1m"))
        XCTAssertEqual(set.ipcTimeout, 5)
        XCTAssertEqual(set.watchdogTimeout, 60)
        XCTAssertEqual(configErrors("Timeout.watchdog = 1s").count, 1)
        XCTAssertEqual(configErrors("Timeout.ipc = 0").count, 1)
    }

    func testRenderOfEveryPrivacySubsetRoundTrips() throws {
        // goaway's compression must never change the set.
        let all = PrivacyOption.allCases
        for mask in [0, 1, 0b111_1111, 0b11_1111_1111_1111, 0b01_0101_0101_0101, 0b10_1010_1010_1010] {
            var c = PosternConfig(sourcePath: "test.conf", myHostname: "mx.example.org")
            c.privacyOptions = Set(all.enumerated().filter { mask & (1 << $0.offset) != 0 }.map(\.element))
            if c.privacyOptions.contains(.noexpn) { c.privacyOptions.insert(.noverb) }
            XCTAssertEqual(try parseConfig(c.render()).get().privacyOptions, c.privacyOptions, "mask \(mask)")
        }
    }

    func testRenderEscapesTheSourcePathInItsComment() throws {
        let c = try parseConfig("", file: "odd\nMaxHopCount = 1").get()
        let lines = c.render().split(separator: "\n")
        XCTAssertFalse(lines.contains("MaxHopCount = 1"))
        XCTAssertEqual(try parseConfig(c.render(), file: c.sourcePath).get(), c)
    }
}
