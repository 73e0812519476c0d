import XCTest

@testable import SMTPProtocol

/// Line discipline as the state machine applies it: what a client sees when
/// its command line is malformed, and that the session goes on afterwards.
final class CommandLineTests: XCTestCase {
    private let ok = Event.reply("250 2.0.0 Ok\r\n")

    func testBareLFIsNotALineEnd() {
        var session = Session()
        _ = session.start()
        XCTAssertEqual(session.send("NOOP\n"), [])
        XCTAssertEqual(session.send("NOOP\n\r\n"), [.reply("500 5.5.2 Bare CR or LF not allowed\r\n")])
        XCTAssertEqual(session.send("NOOP\r\n"), [ok])
    }

    func testBareCRInACommandIsRefused() {
        var session = Session()
        _ = session.start()
        XCTAssertEqual(session.send("NO\rOP\r\n"), [.reply("500 5.5.2 Bare CR or LF not allowed\r\n")])
        XCTAssertEqual(session.send("NOOP\r\r\n"), [.reply("500 5.5.2 Bare CR or LF not allowed\r\n")])
        XCTAssertEqual(session.send("NOOP\r\n"), [ok])
    }

    func testNULInACommandIsRefused() {
        var session = Session()
        _ = session.start()
        XCTAssertEqual(
            session.send(bytes: Array("NOOP".utf8) + [0] + [0x0D, 0x0A]),
            [.reply("500 5.5.2 NUL character not allowed\r\n")])
    }

    func testOverlongLineIsRefusedAndTheSessionSurvives() {
        var session = Session()
        _ = session.start()
        XCTAssertEqual(
            session.send("NOOP " + String(repeating: "x", count: 600) + "\r\nNOOP\r\n"),
            [.reply("500 5.5.2 Line too long\r\n"), ok])
    }

    func testOverlongLineFedInPiecesIsRefusedOnce() {
        var session = Session()
        _ = session.start()
        for _ in 0..<100 { XCTAssertEqual(session.send(String(repeating: "y", count: 100)), []) }
        XCTAssertEqual(session.send("\r\n"), [.reply("500 5.5.2 Line too long\r\n")])
    }

    func testLineOfExactlyTheLimitIsAccepted() {
        var session = Session()
        _ = session.start()
        let line = "NOOP " + String(repeating: "x", count: 505)
        XCTAssertEqual(line.utf8.count + 2, 512)
        XCTAssertEqual(session.send(line + "\r\n"), [ok])
        XCTAssertEqual(session.send(line + "x\r\n"), [.reply("500 5.5.2 Line too long\r\n")])
    }

    /// MAIL and RCPT may be longer, by what the ESMTP parameters need
    /// (RFC 3461 §5); the framer bounds them too.
    func testParameterLinesGetTheExtensionAllowance() {
        var session = Session()
        _ = session.start()
        _ = session.send("EHLO c.example.org\r\n")
        let limit = 512 + SMTPServerStateMachine.parameterLineAllowance
        let mail = "MAIL FROM:<b@example.org> ENVID=x"
        let padded = mail + String(repeating: "x", count: limit - 2 - mail.utf8.count)
        XCTAssertEqual(session.send(padded + "x\r\n"), [.reply("500 5.5.2 Line too long\r\n")])
        XCTAssertEqual(session.send(padded + "\r\n"), [.reply("501 5.5.4 Bad ENVID parameter\r\n")])
        let noop = "NOOP " + String(repeating: "x", count: 506)
        XCTAssertEqual(session.send(noop + "\r\n"), [.reply("500 5.5.2 Line too long\r\n")])
    }

    func testVerbsAreCaseInsensitive() {
        var session = Session()
        _ = session.start()
        XCTAssertEqual(session.send("helo client.example.org\r\n"), [.reply("250 mx.example.test\r\n")])
        XCTAssertEqual(session.send("MaIl FrOm:<bob@example.org>\r\n"), [.reply("250 2.1.0 Ok\r\n")])
        XCTAssertEqual(session.send("rcpt to:<a@example.test>\r\n"), [.check("a@example.test")])
    }

    func testUnknownAndEmptyCommands() {
        var session = Session()
        _ = session.start()
        XCTAssertEqual(session.send("STARTTLSX\r\n"), [.reply("500 5.5.2 Error: command not recognized\r\n")])
        // Known, but not offered without a certificate.
        XCTAssertEqual(session.send("STARTTLS\r\n"), [.reply("502 5.5.1 Error: command not implemented\r\n")])
        XCTAssertEqual(session.send("\r\n"), [.reply("500 5.5.2 Error: command not recognized\r\n")])
        XCTAssertEqual(session.send("MAILFROM:<a@b>\r\n"), [.reply("500 5.5.2 Error: command not recognized\r\n")])
    }

    func testWholeSessionByteByByte() {
        var session = Session()
        _ = session.start()
        XCTAssertEqual(
            session.trickle(
                Array("EHLO c.example.org\r\nMAIL FROM:<b@example.org>\r\nRCPT TO:<a@example.test>\r\n".utf8)),
            [
                .reply(
                    "250-mx.example.test\r\n250-PIPELINING\r\n250-SIZE 10485760\r\n250-8BITMIME\r\n"
                        + "250-ENHANCEDSTATUSCODES\r\n250-SMTPUTF8\r\n250-DSN\r\n250 CHUNKING\r\n"),
                .reply("250 2.1.0 Ok\r\n"), .check("a@example.test"),
            ])
    }
}
