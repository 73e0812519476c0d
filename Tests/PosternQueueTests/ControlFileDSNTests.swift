import PosternCore
import XCTest

@testable import PosternQueue

final class ControlFileDSNTests: XCTestCase {
    private func envelope() -> Envelope {
        Envelope(
            queueID: QueueID.generate(), sender: "alice@example.test",
            recipients: [
                Recipient(
                    address: "bob@example.test", localUser: "bob", notify: [.success, .failure],
                    originalRecipient: "rfc822;bob@example.test"),
                Recipient(address: "carol@example.org", localUser: ""),
                Recipient(address: "dave@example.test", localUser: "dave", notify: .never),
            ],
            arrival: 1_700_000_000, clientAddress: "192.0.2.1", clientHelo: "client.test", size: 10,
            dsnReturn: .headers, envelopeID: "QQ314159 x", bodyType: .eightBitMIME, smtputf8: true)
    }

    func testDSNFieldsRoundTrip() throws {
        let original = envelope()
        let bytes = try ControlFile.encode(original)
        let text = String(decoding: bytes, as: UTF8.self)
        XCTAssertTrue(text.contains("\nret hdrs\n"), text)
        XCTAssertTrue(text.contains("\nbody 8bitmime\nsmtputf8 yes\n"), text)
        XCTAssertTrue(text.contains("\nenvid 10:QQ314159 x\n"), text)
        XCTAssertTrue(text.contains("\ndsn success,failure 23:rfc822;bob@example.test\n"), text)
        XCTAssertTrue(text.contains("\ndsn never 0:\n"), text)
        let decoded = try ControlFile.decode(bytes)
        XCTAssertEqual(decoded, original)
        XCTAssertTrue(decoded.recipients[1].isRemote)
    }

    func testEveryPrefixOfADSNFileIsRefused() throws {
        let bytes = try ControlFile.encode(envelope())
        for n in 0..<bytes.count {
            XCTAssertThrowsError(try ControlFile.decode(Array(bytes.prefix(n))), "prefix \(n)")
        }
    }

    func testADSNLineMustFollowItsRecipient() throws {
        var lines = String(decoding: try ControlFile.encode(envelope()), as: UTF8.self)
            .split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard let dsn = lines.firstIndex(where: { $0.hasPrefix("dsn ") }) else { return XCTFail() }
        let moved = lines.remove(at: dsn)
        lines.insert(moved, at: 2)
        XCTAssertThrowsError(try ControlFile.decode(Array(lines.joined(separator: "\n").utf8)))
    }

    /// The queue's own bookkeeping: a delay warning sent, and which
    /// messages are notifications (so a failed one is never answered).
    func testWarnedAndNoticeRoundTrip() throws {
        for notice in [MessageNotice.dsn, .doubleBounce] {
            var original = envelope()
            original.warned = true
            original.notice = notice
            let bytes = try ControlFile.encode(original)
            let text = String(decoding: bytes, as: UTF8.self)
            XCTAssertTrue(text.contains("\nwarned yes\nnotice \(notice.rawValue)\n"), text)
            XCTAssertEqual(try ControlFile.decode(bytes), original)
        }
        let plain = try ControlFile.encode(envelope())
        XCTAssertFalse(String(decoding: plain, as: UTF8.self).contains("warned"))
        XCTAssertEqual(try ControlFile.decode(plain).notice, MessageNotice.none)
        for bad in ["warned no", "notice none", "notice bounce", "warned yes\nwarned yes"] {
            let text = String(decoding: plain, as: UTF8.self).replacingOccurrences(
                of: "\nrcpt ", with: "\n\(bad)\nrcpt ")
            XCTAssertThrowsError(try ControlFile.decode(Array(text.utf8)), bad)
        }
    }

    func testRetryDelaysDoubleFromTheMinimumToTheMaximum() {
        XCTAssertEqual(
            (1...7).map { RetrySchedule.delay(afterAttempts: $0, minimum: 300, maximum: 3600) },
            [300, 600, 1200, 2400, 3600, 3600, 3600])
        XCTAssertEqual(RetrySchedule.delay(afterAttempts: 0, minimum: 1, maximum: 2), 1)
        XCTAssertEqual(RetrySchedule.delay(afterAttempts: 1000, minimum: 1, maximum: 2), 2)
        XCTAssertEqual(ConfigDuration.spoken(5 * 86_400), "5 days")
        XCTAssertEqual(ConfigDuration.spoken(3_600), "1 hour")
        XCTAssertEqual(ConfigDuration.spoken(90), "90 seconds")
    }

    func testBadNotifyWordsAreRefused() {
        XCTAssertNil(DSNNotify(word: "never,success"))
        XCTAssertNil(DSNNotify(word: "sometimes"))
        XCTAssertNil(DSNNotify(word: "success,,delay"))
        XCTAssertEqual(DSNNotify(word: "delay,success"), [.delay, .success])
        XCTAssertEqual(DSNNotify(word: "-"), [])
    }
}
