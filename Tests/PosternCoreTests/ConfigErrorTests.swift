import XCTest

@testable import PosternCore

/// Each kind of mistake gives one `FILE:LINE: reason` naming the option and
/// the problem; all of a file's mistakes come back together.
final class ConfigErrorTests: XCTestCase {
    let path = "/etc/postern/postern.conf"

    func testUnknownOption() {
        XCTAssertEqual(
            configErrors("\n\n\n\n\n\nMaxMessageSise = 10M", file: path),
            ["/etc/postern/postern.conf:7: unknown option \"MaxMessageSise\""])
    }

    func testMissingEquals() {
        XCTAssertEqual(
            configErrors("QueueDirectory /var/spool/postern"),
            ["test.conf:1: missing \"=\" in \"QueueDirectory /var/spool/postern\" (expected \"Name = value\")"])
        XCTAssertEqual(configErrors("= 5"), ["test.conf:1: missing option name before \"=\""])
    }

    func testMissingValue() {
        XCTAssertEqual(configErrors("MaxHopCount =   "), ["test.conf:1: MaxHopCount: missing value"])
        XCTAssertEqual(configErrors("LocalDomains = , ,"), ["test.conf:1: LocalDomains: missing value"])
    }

    func testDuplicateOption() {
        XCTAssertEqual(
            configErrors("\nQueueDirectory = /a\n\n\nQueueDirectory = /b", file: path),
            ["/etc/postern/postern.conf:5: duplicate option \"QueueDirectory\" (first set on line 2)"])
        XCTAssertEqual(
            configErrors("Listen = 127.0.0.1:25\nListen = 127.0.0.1:25"),
            ["test.conf:2: Listen: 127.0.0.1:25 is already listed on line 1"])
        XCTAssertEqual(
            configErrors("Listen = [::1]:25\nListen = [0::1]:25"),
            ["test.conf:2: Listen: [::1]:25 is already listed on line 1"])
    }

    func testPaths() {
        XCTAssertEqual(
            configErrors("\n\n\nQueueDirectory = var/spool", file: path),
            ["/etc/postern/postern.conf:4: QueueDirectory: must be an absolute path"])
        XCTAssertEqual(
            configErrors("SafeFileEnvironment = /var/mail\u{1B}[2Jjail"),
            ["test.conf:1: SafeFileEnvironment: \"/var/mail\\x1b[2Jjail\" contains a control character"])
        XCTAssertEqual(configErrors("LogFile = postern.log"), ["test.conf:1: LogFile: must be an absolute path"])
        XCTAssertEqual(configErrors("LogFile = //"), ["test.conf:1: LogFile: must name a file"])
    }

    func testSizes() {
        XCTAssertEqual(
            configErrors("\n\n\n\n\n\n\n\nMaxMessageSize = 10X", file: path),
            ["/etc/postern/postern.conf:9: MaxMessageSize: \"10X\" is not a size (bytes, or a number with k, m or g)"])
        for bad in ["k", "-1", "1.5M", "10 M", "0x10", "1kb"] {
            XCTAssertEqual(
                configErrors("MaxMessageSize = \(bad)"),
                ["test.conf:1: MaxMessageSize: \"\(bad)\" is not a size (bytes, or a number with k, m or g)"])
        }
        XCTAssertEqual(configErrors("MaxMessageSize = 0"), ["test.conf:1: MaxMessageSize: must be greater than 0"])
        XCTAssertEqual(configErrors("MaxMessageSize = 0k"), ["test.conf:1: MaxMessageSize: must be greater than 0"])
        XCTAssertEqual(
            configErrors("MaxMessageSize = 99999999999999G"),
            ["test.conf:1: MaxMessageSize: \"99999999999999G\" is too large"])
        XCTAssertEqual(
            configErrors("MaxMessageSize = 99999999999999999999"),
            ["test.conf:1: MaxMessageSize: \"99999999999999999999\" is too large"])
    }

    func testIntegers() {
        XCTAssertEqual(
            configErrors("MaxRecipientsPerMessage = 0"),
            ["test.conf:1: MaxRecipientsPerMessage: 0 is out of range (1 to 100000)"])
        XCTAssertEqual(
            configErrors("MaxRecipientsPerMessage = 100001"),
            ["test.conf:1: MaxRecipientsPerMessage: 100001 is out of range (1 to 100000)"])
        XCTAssertEqual(configErrors("MaxHopCount = +5"), ["test.conf:1: MaxHopCount: \"+5\" is not a whole number"])
        XCTAssertEqual(
            configErrors("MaxHopCount = 1001"), ["test.conf:1: MaxHopCount: 1001 is out of range (1 to 1000)"])
        XCTAssertEqual(
            configErrors("LocalWorkerLimit = 10001"),
            ["test.conf:1: LocalWorkerLimit: 10001 is out of range (1 to 10000)"])
        XCTAssertEqual(
            configErrors("MaxConnections = 0"),
            ["test.conf:1: MaxConnections: 0 is out of range (1 to 1000000)"])
        XCTAssertEqual(
            configErrors("MaxConnections = 99999999999999999999999"),
            ["test.conf:1: MaxConnections: 99999999999999999999999 is out of range (1 to 1000000)"])
    }

    func testDurations() {
        XCTAssertEqual(
            configErrors("LocalWorkerIdleTimeout = 5x"),
            [
                "test.conf:1: LocalWorkerIdleTimeout: \"5x\" is not a duration (seconds, or a number with s, m, h or d)"
            ])
        XCTAssertEqual(
            configErrors("LocalWorkerIdleTimeout = 0"),
            ["test.conf:1: LocalWorkerIdleTimeout: 0 is out of range (1s to 1d)"])
        XCTAssertEqual(
            configErrors("LocalWorkerIdleTimeout = 2d"),
            ["test.conf:1: LocalWorkerIdleTimeout: 2d is out of range (1s to 1d)"])
        XCTAssertEqual(
            configErrors("ShutdownTimeout = 61m"), ["test.conf:1: ShutdownTimeout: 61m is out of range (0s to 1h)"])
        XCTAssertEqual(
            configErrors("ShutdownTimeout = s"),
            [
                "test.conf:1: ShutdownTimeout: \"s\" is not a duration (seconds, or a number with s, m, h or d)"
            ])
    }

    func testHostNames() {
        XCTAssertEqual(
            configErrors("MyHostname = mail_host.example"),
            [
                "test.conf:1: MyHostname: \"mail_host.example\" is not a host name (only letters, digits, hyphens and dots)"
            ])
        XCTAssertEqual(
            configErrors("MyHostname = mail..example"),
            ["test.conf:1: MyHostname: \"mail..example\" is not a host name (empty label)"])
        XCTAssertEqual(
            configErrors("MyHostname = -mail.example"),
            ["test.conf:1: MyHostname: \"-mail.example\" is not a host name (a label starts or ends with a hyphen)"])
        let longLabel = String(repeating: "a", count: 64)
        XCTAssertEqual(
            configErrors("MyHostname = \(longLabel).example"),
            [
                "test.conf:1: MyHostname: \"\(longLabel).example\" is not a host name (a label is longer than 63 characters)"
            ])
        let long = Array(repeating: String(repeating: "a", count: 63), count: 4).joined(separator: ".")
        XCTAssertEqual(
            configErrors("MyHostname = \(long)"),
            ["test.conf:1: MyHostname: \"\(long)\" is longer than 253 characters"])
        XCTAssertEqual(
            configErrors("LocalDomains = good.example, bad_one.example, also bad"),
            [
                "test.conf:1: LocalDomains: \"bad_one.example\" is not a host name (only letters, digits, hyphens and dots)"
            ], "blanks separate domains, so \"also bad\" is two good names")
    }

    func testDefaultHostNameThatIsNotAHostName() {
        let result = ConfigLoader.parse(
            text: "", file: "f", checkFileSystem: false,
            systemHostName: { .success("my_box") })
        XCTAssertEqual(
            result,
            .failure(
                ConfigErrors([
                    ConfigError(
                        file: "f", line: 0,
                        reason:
                            "MyHostname: the system host name \"my_box\" is not usable (\"my_box\" is not a host name (only letters, digits, hyphens and dots)); set MyHostname"
                    )
                ])))
        let failing = ConfigLoader.parse(
            text: "", file: "f", checkFileSystem: false,
            systemHostName: { .failure(ConfigValueError("boom")) })
        XCTAssertEqual(
            failing,
            .failure(
                ConfigErrors([
                    ConfigError(
                        file: "f", line: 0,
                        reason:
                            "MyHostname: cannot read the system host name (boom); set MyHostname")
                ])))
        // Setting MyHostname makes the system's name irrelevant.
        let fixed = ConfigLoader.parse(
            text: "MyHostname = box.example", file: "f", checkFileSystem: false,
            systemHostName: { .success("my_box") })
        XCTAssertEqual(try fixed.get().localDomains, ["box.example"])
    }

    func testListen() {
        let usage = "is not ADDR:PORT (an IPv4 dotted quad, or [IPv6])"
        for bad in [
            "localhost:25", "127.0.0.1", "1.2.3:25", "1.2.3.4.5:25", "256.1.1.1:25", "01.2.3.4:25",
            "::1:25", "[::1:25", ":25",
        ] {
            XCTAssertEqual(configErrors("Listen = \(bad)"), ["test.conf:1: Listen: \"\(bad)\" \(usage)"], bad)
        }
        for bad in ["127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:smtp", "127.0.0.1:", "[::1]:-1"] {
            XCTAssertEqual(
                configErrors("Listen = \(bad)"),
                ["test.conf:1: Listen: \"\(bad)\": port must be a number from 1 to 65535"], bad)
        }
        XCTAssertEqual(
            configErrors("Listen = [1::2::3]:25"),
            ["test.conf:1: Listen: \"[1::2::3]:25\": \"1::2::3\" is not an IPv6 address"])
        XCTAssertEqual(
            configErrors("Listen = [fe80::1%eth0]:25"),
            ["test.conf:1: Listen: \"[fe80::1%eth0]:25\": \"fe80::1%eth0\" is not an IPv6 address"])
    }

    func testLogFacilityAndGroup() {
        XCTAssertEqual(
            configErrors("LogFacility = local8"),
            ["test.conf:1: LogFacility: \"local8\" is not a facility (mail, daemon, local0 to local7)"])
        XCTAssertEqual(configErrors("MailGroup = 9mail"), ["test.conf:1: MailGroup: \"9mail\" is not a group name"])
        XCTAssertEqual(
            configErrors("MailGroup = mail group"), ["test.conf:1: MailGroup: \"mail group\" is not a group name"])
    }

    func testGreeting() {
        XCTAssertEqual(
            configErrors("SmtpGreetingMessage = $j Sendmail $v/$Z; $b"),
            [
                "test.conf:1: SmtpGreetingMessage: unknown macro \"$v\" (only $j, $b and $$ are expanded)"
            ])
        XCTAssertEqual(
            configErrors("SmtpGreetingMessage = costs 5$"),
            ["test.conf:1: SmtpGreetingMessage: ends with a lone \"$\" (write $$ for a dollar sign)"])
        XCTAssertEqual(
            configErrors("SmtpGreetingMessage = hello\rworld"),
            ["test.conf:1: SmtpGreetingMessage: must not contain CR, LF or NUL"])
        XCTAssertEqual(
            configErrors("SmtpGreetingMessage = hello\0world"),
            ["test.conf:1: SmtpGreetingMessage: must not contain CR, LF or NUL"])
        XCTAssertEqual(
            configErrors("SmtpGreetingMessage = hello\u{7}world"),
            ["test.conf:1: SmtpGreetingMessage: must not contain control characters"])
        XCTAssertEqual(
            configErrors("SmtpGreetingMessage = " + String(repeating: "x", count: 401)),
            ["test.conf:1: SmtpGreetingMessage: longer than 400 bytes"])
        // Short as written, too long once $j is the (long) host name.
        let host = Array(repeating: String(repeating: "h", count: 60), count: 4).joined(separator: ".")
        XCTAssertEqual(
            configErrors("MyHostname = \(host)\nSmtpGreetingMessage = $j $j $b"),
            [
                "test.conf:2: SmtpGreetingMessage: too long once $j and $b are expanded (519 bytes; at most 506)"
            ])
        // The greeting direct from ConfigValueError, typed.
        XCTAssertThrowsError(try ConfigValue.greeting("a\nb")) { error in
            XCTAssertEqual(error as? ConfigValueError, ConfigValueError("must not contain CR, LF or NUL"))
        }
    }

    func testUnknownNameIsEscapedInTheMessage() {
        XCTAssertEqual(
            configErrors("Evil\u{1B}]0;pwned\u{7} = 1"),
            ["test.conf:1: unknown option \"Evil\\x1b]0;pwned\\x07\""])
    }

    func testAllErrorsAreCollectedInLineOrder() {
        let text = """
            # postern.conf with many mistakes
            MaxMessageSise = 10M
            QueueDirectory = spool
            MaxMessageSize = 10X
            Listen 127.0.0.1:25
            QueueDirectory = /var/spool/postern
            PrivacyOptions = goaway, noexpm
            MaxHopCount = 100
            MaxHopCount = 0
            Listen = [::1]:25
            """
        XCTAssertEqual(
            configErrors(text, file: path),
            [
                "/etc/postern/postern.conf:2: unknown option \"MaxMessageSise\"",
                "/etc/postern/postern.conf:3: QueueDirectory: must be an absolute path",
                "/etc/postern/postern.conf:4: MaxMessageSize: \"10X\" is not a size (bytes, or a number with k, m or g)",
                "/etc/postern/postern.conf:5: missing \"=\" in \"Listen 127.0.0.1:25\" (expected \"Name = value\")",
                "/etc/postern/postern.conf:6: duplicate option \"QueueDirectory\" (first set on line 3)",
                "/etc/postern/postern.conf:7: PrivacyOptions: unknown flag \"noexpm\"",
                "/etc/postern/postern.conf:9: duplicate option \"MaxHopCount\" (first set on line 8)",
            ])
        if case .failure(let errors) = parseConfig(text, file: path) {
            XCTAssertEqual(errors.description.split(separator: "\n").count, 7, "one error per line of text")
            XCTAssertEqual(errors.errors.first?.line, 2)
            XCTAssertEqual(errors.errors.first?.file, path)
            XCTAssertEqual(errors.errors.first?.reason, "unknown option \"MaxMessageSise\"")
        }
    }
}
