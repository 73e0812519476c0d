import XCTest

@testable import SMTPProtocol

/// RFC 3461 parameters: RET and ENVID on MAIL, NOTIFY and ORCPT on RCPT,
/// strictly checked and carried to the queue.
final class DSNTests: XCTestCase {
    private func mail(_ parameters: String) throws -> MailParameters {
        guard case .mail(_, let result) = try SMTPCommand.parse(Array("MAIL FROM:<a@example.org> \(parameters)".utf8))
        else { throw SMTPCommandError.unknownCommand }
        return result
    }

    private func rcpt(_ parameters: String) throws -> RecipientParameters {
        guard case .rcpt(_, let result) = try SMTPCommand.parse(Array("RCPT TO:<a@example.test> \(parameters)".utf8))
        else { throw SMTPCommandError.unknownCommand }
        return result
    }

    private func mailError(_ parameters: String) -> SMTPCommandError? {
        do {
            _ = try mail(parameters)
            return nil
        } catch {
            return error as? SMTPCommandError
        }
    }

    private func rcptError(_ parameters: String) -> SMTPCommandError? {
        do {
            _ = try rcpt(parameters)
            return nil
        } catch {
            return error as? SMTPCommandError
        }
    }

    func testRet() throws {
        XCTAssertEqual(try mail("RET=FULL").ret, .full)
        XCTAssertEqual(try mail("ret=hdrs").ret, .headers)
        XCTAssertEqual(mailError("RET=BODY"), .invalidParameter(keyword: "RET"))
        XCTAssertEqual(mailError("RET"), .invalidParameter(keyword: "RET"))
        XCTAssertEqual(mailError("RET=FULL RET=HDRS"), .invalidParameter(keyword: "RET"))
        XCTAssertEqual(mailError("RET="), .syntax(usage: "MAIL FROM:<address>"))
    }

    func testEnvid() throws {
        XCTAssertEqual(try mail("ENVID=QQ314159").envid, "QQ314159")
        XCTAssertEqual(try mail("ENVID=a+2Bb+3Dc+20d").envid, "a+b=c d")
        XCTAssertEqual(try mail("ENVID=\(String(repeating: "x", count: 100))").envid?.count, 100)
        XCTAssertEqual(mailError("ENVID=\(String(repeating: "x", count: 101))"), .invalidParameter(keyword: "ENVID"))
        for bad in ["+0D+0A", "a+00b", "a+2b", "a+2", "a+", "a+ZZ", "+E9", "+7F", "+09", "x+2Bx+"] {
            XCTAssertEqual(mailError("ENVID=\(bad)"), .invalidParameter(keyword: "ENVID"), bad)
        }
        XCTAssertEqual(mailError("ENVID=a ENVID=b"), .invalidParameter(keyword: "ENVID"))
        XCTAssertEqual(mailError("ENVID"), .invalidParameter(keyword: "ENVID"))
        XCTAssertEqual(mailError("ENVID=a=b"), .syntax(usage: "MAIL FROM:<address>"))
    }

    func testNotify() throws {
        XCTAssertEqual(try rcpt("NOTIFY=NEVER").notify, [.never])
        XCTAssertEqual(try rcpt("NOTIFY=SUCCESS,FAILURE,DELAY").notify, [.success, .failure, .delay])
        XCTAssertEqual(try rcpt("notify=delay,failure").notify, [.delay, .failure])
        XCTAssertNil(try rcpt("").notify)
        for bad in [
            "NEVER,SUCCESS", "FAILURE,NEVER", "SUCCESS,SUCCESS", "SUCCESS,", ",SUCCESS", "ALWAYS", "SUCCESS,,DELAY",
        ] {
            XCTAssertEqual(rcptError("NOTIFY=\(bad)"), .invalidParameter(keyword: "NOTIFY"), bad)
        }
        XCTAssertEqual(rcptError("NOTIFY"), .invalidParameter(keyword: "NOTIFY"))
        XCTAssertEqual(rcptError("NOTIFY=NEVER NOTIFY=NEVER"), .invalidParameter(keyword: "NOTIFY"))
        XCTAssertEqual(rcptError("NOTIFY="), .syntax(usage: "RCPT TO:<address>"))
    }

    func testOrcpt() throws {
        XCTAssertEqual(try rcpt("ORCPT=rfc822;alice@example.test").orcpt, "rfc822;alice@example.test")
        XCTAssertEqual(try rcpt("ORCPT=rfc822;bob+2Bx@example.org").orcpt, "rfc822;bob+x@example.org")
        XCTAssertEqual(try rcpt("ORCPT=RFC822;+22a+20b+22@example.org").orcpt, "RFC822;\"a b\"@example.org")
        let atLimit = "rfc822;" + String(repeating: "a", count: 481) + "@example.org"  // 500
        XCTAssertEqual(atLimit.count, 500)
        XCTAssertEqual(try rcpt("ORCPT=\(atLimit)").orcpt, atLimit)
        XCTAssertEqual(rcptError("ORCPT=\(atLimit)x"), .invalidParameter(keyword: "ORCPT"))
        for bad in [
            "alice@example.test", ";alice@example.test", "rfc822;", "rf(c822;a@b", "rfc822;a+0D+0Ab", "rfc822;a+00",
            "rfc822;a+0a", "rfc822;a+C3+A9",
        ] {
            XCTAssertEqual(rcptError("ORCPT=\(bad)"), .invalidParameter(keyword: "ORCPT"), bad)
        }
        XCTAssertEqual(rcptError("ORCPT=rfc822;\u{E9}"), .syntax(usage: "RCPT TO:<address>"))
        XCTAssertEqual(rcptError("ORCPT=rfc822;a ORCPT=rfc822;b"), .invalidParameter(keyword: "ORCPT"))
    }

    func testUnknownParametersAre555() {
        XCTAssertEqual(mailError("NOTIFY=NEVER"), .unsupportedParameter(keyword: "NOTIFY"))
        XCTAssertEqual(rcptError("RET=FULL"), .unsupportedParameter(keyword: "RET"))
        XCTAssertEqual(rcptError("X-FOO=1"), .unsupportedParameter(keyword: "X-FOO"))
    }

    func testParametersAreCarriedToTheQueue() {
        var session = Session()
        _ = session.start()
        _ = session.send("EHLO client.example.org\r\nMAIL FROM:<bob@example.org> RET=HDRS ENVID=id+2B1\r\n")
        _ = session.send("RCPT TO:<a@example.test> NOTIFY=SUCCESS,DELAY ORCPT=rfc822;A@example.test\r\n")
        _ = session.accept("a")
        _ = session.send("RCPT TO:<x@example.test> NOTIFY=NEVER\r\n")
        _ = session.reject(SMTPReply(code: 550, enhanced: "5.1.1", text: "User unknown"))
        _ = session.send("RCPT TO:<b@example.test>\r\n")
        _ = session.accept("b")
        _ = session.send("DATA\r\n")
        _ = session.opened("QID")
        guard let message = commits(session.send(".\r\n")).first else { return XCTFail("no commit") }
        XCTAssertEqual(message.ret, .headers)
        XCTAssertEqual(message.envid, "id+1")
        XCTAssertEqual(
            message.recipients,
            [
                AcceptedRecipient(
                    address: "a@example.test", localUser: "a", notify: [.success, .delay],
                    orcpt: "rfc822;A@example.test"),
                AcceptedRecipient(address: "b@example.test", localUser: "b"),
            ])
    }

    func testSessionReplies() {
        var session = Session()
        _ = session.start()
        _ = session.send("EHLO client.example.org\r\n")
        XCTAssertEqual(
            session.send("MAIL FROM:<bob@example.org> ENVID=+0D+0A\r\n"), [.reply("501 5.5.4 Bad ENVID parameter\r\n")])
        XCTAssertEqual(
            session.send("MAIL FROM:<bob@example.org> RET=ALL\r\n"), [.reply("501 5.5.4 Bad RET parameter\r\n")])
        XCTAssertEqual(session.send("MAIL FROM:<bob@example.org> RET=FULL\r\n"), [.reply("250 2.1.0 Ok\r\n")])
        XCTAssertEqual(
            session.send("RCPT TO:<a@example.test> NOTIFY=NEVER,DELAY\r\n"),
            [.reply("501 5.5.4 Bad NOTIFY parameter\r\n")])
        XCTAssertEqual(
            session.send("RCPT TO:<a@example.test> ORCPT=x\r\n"), [.reply("501 5.5.4 Bad ORCPT parameter\r\n")])
        XCTAssertEqual(
            session.send("RCPT TO:<a@example.test> FOO=BAR\r\n"), [.reply("555 5.5.4 Unsupported option: FOO\r\n")])
    }

    /// RFC 3461 §5: ORCPT makes RCPT lines longer than 512 octets.
    func testLongParameterLinesAreAccepted() {
        var session = Session()
        _ = session.start()
        _ = session.send("EHLO client.example.org\r\nMAIL FROM:<bob@example.org>\r\n")
        let orcpt = "rfc822;" + String(repeating: "a", count: 480) + "@example.org"
        let line =
            "RCPT TO:<\(String(repeating: "l", count: 64))@example.test> NOTIFY=SUCCESS,FAILURE,DELAY ORCPT=\(orcpt)"
        XCTAssertGreaterThan(line.utf8.count, 600)
        XCTAssertEqual(session.send(line + "\r\n").count, 1)
        XCTAssertTrue(session.machine.isWaiting)
        XCTAssertEqual(
            session.send("NOOP \(String(repeating: "x", count: 600))\r\n"), [])  // held, answered in order
        XCTAssertEqual(
            session.accept("l"), [.reply("250 2.1.5 Ok\r\n"), .reply("500 5.5.2 Line too long\r\n")])
    }

    func testDSNParametersNeedEhlo() {
        var session = Session()
        _ = session.start()
        _ = session.send("HELO client.example.org\r\n")
        XCTAssertEqual(
            session.send("MAIL FROM:<bob@example.org> RET=FULL\r\n"), [.reply("555 5.5.4 Unsupported option: RET\r\n")])
        _ = session.send("MAIL FROM:<bob@example.org>\r\n")
        XCTAssertEqual(
            session.send("RCPT TO:<a@example.test> NOTIFY=NEVER\r\n"),
            [.reply("555 5.5.4 Unsupported option: NOTIFY\r\n")])
    }
}
