import XCTest

@testable import PosternCore

/// The queue's times and its administrators (issue 5).
final class ConfigQueueTests: XCTestCase {
    func testDefaultsAreSendmailsAndPostfixs() throws {
        let config = try XCTUnwrap(parsedConfig(""))
        XCTAssertEqual(config.queueReturn, 5 * 86_400)
        XCTAssertEqual(config.queueWarn, 4 * 3_600)
        XCTAssertEqual(config.queueRetryMinimum, 300)
        XCTAssertEqual(config.queueRetryMaximum, 3_600)
        XCTAssertEqual(config.queueAdminGroup, "root")
    }

    func testValuesParseAndRoundTrip() throws {
        let text = """
            Timeout.queuereturn = 2d
            Timeout.queuewarn = 0
            QueueRetryMinimum = 30s
            QueueRetryMaximum = 2h
            QueueAdminGroup = mail
            """
        let config = try XCTUnwrap(parsedConfig(text))
        XCTAssertEqual(
            [config.queueReturn, config.queueWarn, config.queueRetryMinimum, config.queueRetryMaximum],
            [172_800, 0, 30, 7_200])
        XCTAssertEqual(config.queueAdminGroup, "mail")
        XCTAssertEqual(try XCTUnwrap(parsedConfig(config.render())), config)
    }

    func testHomeMailboxIsAMaildirBelowTheHome() throws {
        XCTAssertEqual(try XCTUnwrap(parsedConfig("")).homeMailbox, "")
        XCTAssertEqual(try XCTUnwrap(parsedConfig("HomeMailbox = Mail/inbox/")).homeMailbox, "Mail/inbox/")
        XCTAssertEqual(try XCTUnwrap(parsedConfig("HomeMailbox = none")).homeMailbox, "")
        for bad in ["/var/mail/x/", "Maildir", "../Maildir/", "Mail//x/", "a/./b/"] {
            XCTAssertEqual(configErrors("HomeMailbox = \(bad)").count, 1, bad)
        }
    }

    func testMistakes() {
        XCTAssertEqual(
            configErrors("QueueRetryMinimum = 2h\nQueueRetryMaximum = 1h"),
            ["test.conf:2: QueueRetryMaximum: 3600s is less than QueueRetryMinimum (7200s)"])
        XCTAssertEqual(configErrors("Timeout.queuereturn = 0").count, 1)
        XCTAssertEqual(configErrors("QueueAdminGroup = -bad").count, 1)
    }
}
