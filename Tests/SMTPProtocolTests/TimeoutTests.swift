import XCTest

@testable import SMTPProtocol

/// `currentTimeout` follows RFC 5321 §4.5.3.2: five minutes for a command,
/// three between blocks of message content.
final class TimeoutTests: XCTestCase {
    func testTimeoutsByState() {
        var session = Session()
        session.autoAcceptSenders = false
        XCTAssertEqual(session.machine.currentTimeout, 300)
        _ = session.start()
        _ = session.send("EHLO client.example.org\r\nMAIL FROM:<bob@example.org>\r\n")
        XCTAssertEqual(session.machine.currentTimeout, 300)  // waiting for the sender verdict
        _ = session.sender(.accept)
        _ = session.send("RCPT TO:<a@example.test>\r\n")
        XCTAssertEqual(session.machine.currentTimeout, 300)
        _ = session.accept("a")
        _ = session.send("DATA\r\n")
        XCTAssertEqual(session.machine.currentTimeout, 300)  // no 354 yet
        _ = session.opened("QID")
        XCTAssertEqual(session.machine.currentTimeout, 180)
        _ = session.send("Subject: x\r\n\r\npart")
        XCTAssertEqual(session.machine.currentTimeout, 180)
        _ = session.send("\r\n.\r\n")
        XCTAssertEqual(session.machine.currentTimeout, 300)  // waiting for the commit
        _ = session.committed()
        XCTAssertEqual(session.machine.currentTimeout, 300)
    }

    func testBdatTimeouts() {
        var session = Session()
        session.envelope()
        _ = session.send("BDAT 10\r\nabc")
        XCTAssertEqual(session.machine.currentTimeout, 180)  // chunk bytes arriving before the open
        _ = session.opened("QID")
        XCTAssertEqual(session.machine.currentTimeout, 180)  // 7 bytes of the chunk still to come
        _ = session.send("defghij")
        XCTAssertEqual(session.machine.currentTimeout, 300)  // between chunks: a command is next
    }

    func testSettingsOverrideBoth() {
        var session = Session(
            SMTPServerSettings(
                hostname: testHost, greeting: "g", addMissingHeaders: false, commandTimeout: 60, dataTimeout: 30))
        XCTAssertEqual(session.machine.currentTimeout, 60)
        session.openMessage()
        XCTAssertEqual(session.machine.currentTimeout, 30)
    }
}
