import XCTest

@testable import SMTPProtocol

/// Bare line endings in DATA under both policies, and the SMTP smuggling
/// payloads (CVE-2023-51764 and kin): whatever the policy, only CR LF "."
/// CR LF ends the data, so a second MAIL FROM hidden in a message never
/// becomes a second transaction.
final class SmugglingTests: XCTestCase {
    private let refused = Event.reply("550 5.6.11 Message contains bare CR or bare LF\r\n")
    private let smuggles = ["\n.\n", "\n.\r\n", "\r.\r\n", "\r\n.\n", "\r\n.\r"]
    private let forged =
        "MAIL FROM:<admin@example.test>\r\nRCPT TO:<victim@example.test>\r\nDATA\r\nSubject: forged\r\n\r\nforged\r\n"

    /// Sends a message carrying `smuggle` and a forged transaction, then
    /// the real end of data and a QUIT, answering every question the
    /// machine asks. Returns everything that happened.
    private func run(_ smuggle: String, _ policy: BareLineEndings) -> [Event] {
        var session = Session(.test(bareLineEndings: policy))
        session.openMessage()
        session.autoAcceptSenders = false
        var events = session.send("Subject: hello\r\n\r\nhi" + smuggle + forged + ".\r\nQUIT\r\n")
        // Answer whatever is pending, as the I/O layer would.
        for _ in 0..<10 {
            switch events.last {
            case .commit?: events += session.committed()
            case .checkSender?: events += session.sender(.accept)
            case .check?: events += session.accept("victim")
            case .open?: events += session.opened("QID2")
            default: return events
            }
        }
        return events
    }

    func testSmugglingPayloadsNeverMakeASecondTransaction() {
        for policy in [BareLineEndings.reject, .normalize] {
            for smuggle in smuggles {
                let events = run(smuggle, policy)
                let label = "\(policy) \(smuggle.debugDescription)"
                XCTAssertLessThanOrEqual(commits(events).count, 1, label)
                XCTAssertFalse(events.contains(.checkSender("admin@example.test")), label)
                XCTAssertFalse(events.contains(.check("victim@example.test")), label)
                XCTAssertEqual(events.filter { $0 == .open }.count, 0, label)
                XCTAssertEqual(Array(withoutWrites(events).suffix(2)), [.reply("221 2.0.0 Bye\r\n"), .close], label)
                switch policy {
                case .reject:
                    XCTAssertEqual(commits(events).count, 0, label)
                    XCTAssertTrue(events.contains(refused), label)
                case .normalize:
                    // One message, the forged transaction inside its body.
                    guard let message = commits(events).first else { return XCTFail("no commit: \(label)") }
                    XCTAssertEqual(message.recipients.map(\.address), ["alice@example.test"], label)
                    XCTAssertTrue(text(spool(events)).contains("MAIL FROM:<admin@example.test>"), label)
                }
            }
        }
    }

    func testNormalizeStoresCRLF() {
        var session = Session(.test(bareLineEndings: .normalize))
        session.openMessage()
        let events = session.send("Subject: a\nX-Two: b\r\n\nline\rmore\n\r\n.\r\n")
        XCTAssertEqual(commits(events).count, 1)
        XCTAssertEqual(text(spool(events)), "Subject: a\r\nX-Two: b\r\n\r\nline\r\nmore\r\n\r\n")
    }

    func testRejectRefusesBareLFAndBareCR() {
        for body in ["Subject: a\nX: b\r\n\r\n", "Subject: a\r\n\r\nline\rmore\r\n"] {
            var session = Session()
            session.openMessage()
            XCTAssertEqual(withoutWrites(session.send(body + ".\r\n")), [.abort, refused], body.debugDescription)
            XCTAssertFalse(session.machine.isWaiting)
        }
    }

    /// Normalizing is for message content only: command lines still need
    /// CR LF.
    func testCommandsStillRefuseBareLineEndings() {
        var session = Session(.test(bareLineEndings: .normalize))
        _ = session.start()
        XCTAssertEqual(session.send("NOOP\nNOOP\r\n"), [.reply("500 5.5.2 Bare CR or LF not allowed\r\n")])
        XCTAssertEqual(session.send("NO\rOP\r\n"), [.reply("500 5.5.2 Bare CR or LF not allowed\r\n")])
    }

    func testNormalizeByteByByteEqualsOneWrite() {
        let body = Array("Subject: a\nB: c\r\r\n\nx\n.\n.\r.\r\n..y\r\n.\r\nNOOP\r\n".utf8)
        var whole = Session(.test(bareLineEndings: .normalize))
        whole.openMessage()
        let one = whole.send(bytes: body)
        var split = Session(.test(bareLineEndings: .normalize))
        split.openMessage()
        let many = split.trickle(body)
        XCTAssertEqual(spool(one), spool(many))
        XCTAssertEqual(withoutWrites(one), withoutWrites(many))
        XCTAssertEqual(commits(one).count, 1)
        XCTAssertEqual(text(spool(one)), "Subject: a\r\nB: c\r\n\r\n\r\nx\r\n.\r\n.\r\n.\r\n.y\r\n")
    }
}
