import XCTest

@testable import SMTPProtocol

/// `start(rejection:)`: the lookup refused the client (access map
/// `Connect:` REJECT, a DNSBL listing). RFC 5321 §3.1: the server answers
/// 554 instead of 220 and then waits for QUIT.
final class ConnectionRejectionTests: XCTestCase {
    private let refusal = SMTPReply(code: 554, enhanced: "5.7.1", text: "Client host rejected: listed by bl.example")
    private let denied = Event.reply("503 5.7.0 Error: access denied\r\n")

    private func rejected(_ settings: SMTPServerSettings = .test()) -> Session {
        var session = Session(settings)
        XCTAssertEqual(
            session.start(rejection: refusal), [.reply("554 5.7.1 Client host rejected: listed by bl.example\r\n")])
        return session
    }

    /// A 421 in the greeting closes the session, as RFC 5321 §3.8 says.
    func testA421RejectionClosesAtOnce() {
        var session = Session()
        let busy = SMTPReply(code: 421, enhanced: "4.3.2", text: "come back later")
        XCTAssertEqual(session.start(rejection: busy), [.reply("421 4.3.2 come back later\r\n"), .close])
        XCTAssertEqual(session.send("EHLO client.example.org\r\n"), [])
    }

    func testEveryCommandButQuitIsDenied() {
        var session = rejected()
        for command in [
            "EHLO client.example.org", "HELO client.example.org", "MAIL FROM:<bob@example.org>",
            "RCPT TO:<alice@example.test>", "DATA", "RSET", "NOOP", "VRFY root", "EXPN staff", "HELP", "ETRN x",
            "VERB", "FOO", "MAIL FROM:bad",
        ] {
            XCTAssertEqual(session.send(command + "\r\n"), [denied], command)
        }
        XCTAssertEqual(session.send("QUIT\r\n"), [.reply("221 2.0.0 Bye\r\n"), .close])
    }

    func testNoPolicyQuestionIsEverAsked() {
        var session = rejected()
        session.autoAcceptSenders = false
        let events = session.send(
            "EHLO c.example.org\r\nMAIL FROM:<bob@example.org>\r\nRCPT TO:<a@example.test>\r\nDATA\r\n")
        XCTAssertEqual(events, [denied, denied, denied, denied])
        XCTAssertFalse(session.machine.isWaiting)
    }

    func testDeniedCommandsCountAsErrors() {
        var session = rejected(.test(maxErrors: 3))
        XCTAssertEqual(
            session.send("NOOP\r\nNOOP\r\nNOOP\r\nNOOP\r\n"),
            [denied, denied, denied, .reply("421 4.7.0 mx.example.test Error: too many errors\r\n"), .close])
    }

    /// The chunk of a denied BDAT is skipped, so a QUIT inside it is not a
    /// QUIT.
    func testBdatChunkIsSkipped() {
        var session = rejected()
        XCTAssertEqual(session.send("BDAT 6\r\nQUIT\r\nNOOP\r\n"), [denied, denied])
        XCTAssertFalse(session.machine.isClosed)
    }

    func testLineDisciplineStillApplies() {
        var session = rejected()
        XCTAssertEqual(session.send("NOOP\n\r\n"), [.reply("500 5.5.2 Bare CR or LF not allowed\r\n")])
    }

    func testGreetingWithoutRejectionIsUnchanged() {
        var session = Session()
        XCTAssertEqual(session.start(rejection: nil), [.reply("220 mx.example.test ESMTP\r\n")])
        XCTAssertEqual(session.send("NOOP\r\n"), [.reply("250 2.0.0 Ok\r\n")])
    }
}
