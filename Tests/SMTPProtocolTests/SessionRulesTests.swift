import XCTest

@testable import SMTPProtocol

/// Command sequencing, limits and the replies that reveal nothing.
final class SessionRulesTests: XCTestCase {
    private func greeted(_ settings: SMTPServerSettings = .test()) -> Session {
        var session = Session(settings)
        _ = session.start()
        _ = session.send("EHLO client.example.org\r\n")
        return session
    }

    /// RFC 5321 §4.1.4 lets a server take MAIL without HELO; Sendmail's
    /// `needmailhelo` (part of `goaway`) refuses it.
    func testMailBeforeHelo() {
        var session = Session()
        _ = session.start()
        XCTAssertEqual(session.send("MAIL FROM:<bob@example.org>\r\n"), [.reply("250 2.1.0 Ok\r\n")])

        session = Session(.test(privacy: [.needmailhelo]))
        _ = session.start()
        XCTAssertEqual(
            session.send("MAIL FROM:<bob@example.org>\r\n"), [.reply("503 5.0.0 Polite people say HELO first\r\n")])
        _ = session.send("HELO client.example.org\r\n")
        XCTAssertEqual(session.send("MAIL FROM:<bob@example.org>\r\n"), [.reply("250 2.1.0 Ok\r\n")])
    }

    func testRcptBeforeMail() {
        var session = greeted()
        XCTAssertEqual(session.send("RCPT TO:<a@example.test>\r\n"), [.reply("503 5.5.1 Error: need MAIL command\r\n")])
    }

    func testDataBeforeRcpt() {
        var session = greeted()
        XCTAssertEqual(session.send("DATA\r\n"), [.reply("503 5.5.1 Error: need RCPT command\r\n")])
        _ = session.send("MAIL FROM:<bob@example.org>\r\n")
        XCTAssertEqual(session.send("DATA\r\n"), [.reply("503 5.5.1 Error: need RCPT command\r\n")])
    }

    func testDataWhenEveryRecipientWasRejected() {
        var session = greeted()
        _ = session.send("MAIL FROM:<bob@example.org>\r\nRCPT TO:<x@example.test>\r\n")
        _ = session.reject(SMTPReply(code: 550, enhanced: "5.1.1", text: "User unknown"))
        XCTAssertEqual(session.send("DATA\r\n"), [.reply("554 5.5.1 Error: no valid recipients\r\n")])
    }

    func testNestedMail() {
        var session = greeted()
        _ = session.send("MAIL FROM:<bob@example.org>\r\n")
        XCTAssertEqual(
            session.send("MAIL FROM:<bob@example.org>\r\n"), [.reply("503 5.5.1 Error: nested MAIL command\r\n")])
    }

    func testRsetAndHeloEndTheTransaction() {
        var session = greeted()
        _ = session.send("MAIL FROM:<bob@example.org>\r\n")
        XCTAssertEqual(session.send("RSET\r\n"), [.reply("250 2.0.0 Ok\r\n")])
        XCTAssertEqual(session.send("MAIL FROM:<bob@example.org>\r\n"), [.reply("250 2.1.0 Ok\r\n")])
        _ = session.send("HELO again.example.org\r\n")
        XCTAssertEqual(session.send("MAIL FROM:<bob@example.org>\r\n"), [.reply("250 2.1.0 Ok\r\n")])
        XCTAssertEqual(session.send("RSET now\r\n"), [.reply("501 5.5.4 Syntax: RSET\r\n")])
    }

    func testVrfyExpnHelpNoop() {
        var session = Session()
        _ = session.start()
        XCTAssertEqual(
            session.send("VRFY root\r\n"),
            [.reply("252 2.5.2 Cannot VRFY user; try RCPT to attempt delivery (or try finger)\r\n")])
        XCTAssertEqual(session.send("EXPN staff\r\n"), [.reply("502 5.7.0 EXPN is not implemented\r\n")])
        XCTAssertEqual(
            session.send("HELP\r\n"),
            [.reply("214 2.0.0 Commands: HELO EHLO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP\r\n")])
        XCTAssertEqual(session.send("NOOP anything\r\n"), [.reply("250 2.0.0 Ok\r\n")])
    }

    func testQuitClosesAndIgnoresTheRest() {
        var session = Session()
        _ = session.start()
        XCTAssertEqual(session.send("QUIT\r\nNOOP\r\n"), [.reply("221 2.0.0 Bye\r\n"), .close])
        XCTAssertEqual(session.send("NOOP\r\n"), [])
        XCTAssertEqual(session.timedOut(), [])
    }

    func testSizeDeclaredAtMail() {
        var session = greeted(.test(maxMessageSize: 1000))
        XCTAssertEqual(
            session.send("MAIL FROM:<bob@example.org> SIZE=1001\r\n"),
            [.reply("552 5.3.4 Message size exceeds fixed limit\r\n")])
        XCTAssertEqual(
            session.send("MAIL FROM:<bob@example.org> SIZE=99999999999999999999999999\r\n"),
            [.reply("552 5.3.4 Message size exceeds fixed limit\r\n")])
        XCTAssertEqual(
            session.send("MAIL FROM:<bob@example.org> SIZE=12k\r\n"), [.reply("501 5.5.4 Bad SIZE parameter\r\n")])
        XCTAssertEqual(session.send("MAIL FROM:<bob@example.org> SIZE=1000\r\n"), [.reply("250 2.1.0 Ok\r\n")])
    }

    func testUnsupportedParameters() {
        var session = greeted()
        XCTAssertEqual(
            session.send("MAIL FROM:<bob@example.org> MT-PRIORITY=3\r\n"),
            [.reply("555 5.5.4 Unsupported option: MT-PRIORITY\r\n")])
        _ = session.send("MAIL FROM:<bob@example.org>\r\n")
        XCTAssertEqual(
            session.send("RCPT TO:<a@example.test> XFOO\r\n"), [.reply("555 5.5.4 Unsupported option: XFOO\r\n")])
    }

    func testESMTPParametersNeedEhlo() {
        var session = Session()
        _ = session.start()
        _ = session.send("HELO client.example.org\r\n")
        XCTAssertEqual(
            session.send("MAIL FROM:<bob@example.org> SIZE=10\r\n"), [.reply("555 5.5.4 Unsupported option: SIZE\r\n")])
    }

    func testAddressSyntaxErrors() {
        var session = greeted()
        XCTAssertEqual(
            session.send("MAIL FROM:bob@example.org\r\n"), [.reply("501 5.1.7 Bad sender address syntax\r\n")])
        XCTAssertEqual(
            session.send("MAIL TO:<bob@example.org>\r\n"), [.reply("501 5.5.4 Syntax: MAIL FROM:<address>\r\n")])
        _ = session.send("MAIL FROM:<bob@example.org>\r\n")
        XCTAssertEqual(session.send("RCPT TO:<>\r\n"), [.reply("501 5.1.3 Bad recipient address syntax\r\n")])
        XCTAssertEqual(
            session.send(bytes: Array("RCPT TO:<j\u{F6}rg@example.test>\r\n".utf8)),
            [.reply("553 5.6.7 Non-ASCII addresses not permitted for that recipient without SMTPUTF8\r\n")])
        XCTAssertEqual(
            session.send(bytes: Array("RCPT TO:<j".utf8) + [0xF6] + Array("rg@example.test>\r\n".utf8)),
            [.reply("501 5.1.3 Bad recipient address syntax\r\n")])
        XCTAssertEqual(session.send("RCPT TO:<a@b@c>\r\n"), [.reply("501 5.1.3 Bad recipient address syntax\r\n")])
        XCTAssertEqual(
            session.send("RCPT TO:<a@example.test>x\r\n"), [.reply("501 5.5.4 Syntax: RCPT TO:<address>\r\n")])
    }

    func testHeloNeedsAValidName() {
        var session = Session()
        _ = session.start()
        XCTAssertEqual(session.send("EHLO\r\n"), [.reply("501 5.5.4 Syntax: EHLO hostname\r\n")])
        XCTAssertEqual(session.send("HELO my computer\r\n"), [.reply("501 5.5.4 Syntax: HELO hostname\r\n")])
        XCTAssertEqual(session.send("HELO (evil)\r\n"), [.reply("501 5.5.4 Syntax: HELO hostname\r\n")])
        XCTAssertEqual(session.send("HELO WIN_PC.local\r\n"), [.reply("250 mx.example.test\r\n")])
    }

    func testTooManyRecipients() {
        var session = greeted(.test(maxRecipients: 2))
        _ = session.send("MAIL FROM:<bob@example.org>\r\n")
        for name in ["a", "b"] {
            XCTAssertEqual(session.send("RCPT TO:<\(name)@example.test>\r\n"), [.check("\(name)@example.test")])
            XCTAssertEqual(session.accept(name), [.reply("250 2.1.5 Ok\r\n")])
        }
        XCTAssertEqual(session.send("RCPT TO:<c@example.test>\r\n"), [.reply("452 4.5.3 Too many recipients\r\n")])
        XCTAssertEqual(session.send("DATA\r\n"), [.open])
    }

    func testErrorLimitEndsTheSession() {
        var session = Session(.test(maxErrors: 3, privacy: [.needmailhelo]))
        _ = session.start()
        XCTAssertEqual(session.send("FOO\r\n"), [.reply("500 5.5.2 Error: command not recognized\r\n")])
        XCTAssertEqual(session.send("NOOP\r\n"), [.reply("250 2.0.0 Ok\r\n")])
        XCTAssertEqual(session.send("MAIL FROM:<a@b.c>\r\n"), [.reply("503 5.0.0 Polite people say HELO first\r\n")])
        XCTAssertEqual(
            session.send("BAR\r\nNOOP\r\n"),
            [
                .reply("500 5.5.2 Error: command not recognized\r\n"),
                .reply("421 4.7.0 mx.example.test Error: too many errors\r\n"), .close,
            ])
        XCTAssertEqual(session.send("NOOP\r\n"), [])
    }

    func testRejectedRecipientsCountAsErrors() {
        var session = greeted(.test(maxErrors: 2))
        _ = session.send("MAIL FROM:<bob@example.org>\r\nRCPT TO:<x@example.test>\r\nRCPT TO:<y@example.test>\r\n")
        let unknown = SMTPReply(code: 550, enhanced: "5.1.1", text: "User unknown")
        XCTAssertEqual(session.reject(unknown), [.reply("550 5.1.1 User unknown\r\n"), .check("y@example.test")])
        XCTAssertEqual(
            session.reject(unknown),
            [
                .reply("550 5.1.1 User unknown\r\n"), .reply("421 4.7.0 mx.example.test Error: too many errors\r\n"),
                .close,
            ])
    }

    func testTimeout() {
        var session = Session()
        _ = session.start()
        XCTAssertEqual(session.timedOut(), [.reply("421 4.4.2 mx.example.test Error: timeout exceeded\r\n"), .close])
    }

    func testSessionEndingWhileASpoolFileIsBeingOpenedDiscardsIt() {
        var session = greeted()
        _ = session.send("MAIL FROM:<bob@example.org>\r\nRCPT TO:<a@example.test>\r\n")
        _ = session.accept("a")
        XCTAssertEqual(session.send("DATA\r\n"), [.open])
        XCTAssertEqual(session.timedOut(), [.reply("421 4.4.2 mx.example.test Error: timeout exceeded\r\n"), .close])
        XCTAssertEqual(session.opened("7Q3K9ABCDEFG"), [.abort])
        XCTAssertEqual(session.opened("7Q3K9ABCDEFG"), [])
    }

    func testAnswersNobodyAskedForAreIgnored() {
        var session = greeted()
        XCTAssertEqual(session.accept("a"), [])
        XCTAssertEqual(session.opened("Q"), [])
        XCTAssertEqual(session.committed(), [])
        XCTAssertEqual(session.send("NOOP\r\n"), [.reply("250 2.0.0 Ok\r\n")])
    }
}
