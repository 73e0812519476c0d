import XCTest

@testable import SMTPProtocol

/// RFC 6531: UTF-8 addresses only in a transaction that declared SMTPUTF8,
/// and the Received: protocol names of RFC 3848 and RFC 6531.
final class SMTPUTF8Tests: XCTestCase {
    private let senderRefused = Event.reply(
        "553 5.6.7 Non-ASCII addresses not permitted for that sender without SMTPUTF8\r\n")
    private let recipientRefused = Event.reply(
        "553 5.6.7 Non-ASCII addresses not permitted for that recipient without SMTPUTF8\r\n")

    private func greeted() -> Session {
        var session = Session()
        _ = session.start()
        _ = session.send("EHLO client.example.org\r\n")
        return session
    }

    func testUTF8AddressesWithSMTPUTF8() {
        var session = greeted()
        session.autoAcceptSenders = false
        XCTAssertEqual(
            session.send("MAIL FROM:<j\u{F6}rg@b\u{FC}cher.example> SMTPUTF8\r\n"),
            [.checkSender("j\u{F6}rg@b\u{FC}cher.example")])
        XCTAssertEqual(session.sender(.accept), [.reply("250 2.1.0 Ok\r\n")])
        XCTAssertEqual(
            session.send("RCPT TO:<\u{7528}\u{6237}@\u{4F8B}\u{5B50}.example>\r\n"),
            [.check("\u{7528}\u{6237}@\u{4F8B}\u{5B50}.example")])
        _ = session.accept("u")
        XCTAssertEqual(
            session.send("RCPT TO:<\"\u{E9}l\u{E8}ve x\"@example.test>\r\n"),
            [.check("\"\u{E9}l\u{E8}ve x\"@example.test")])
        _ = session.accept("e")
        _ = session.send("DATA\r\n")
        _ = session.opened("QID")
        guard let message = commits(session.send("Subject: \u{E9}t\u{E9}\r\n\r\n.\r\n")).first else {
            return XCTFail("no commit")
        }
        XCTAssertTrue(message.smtputf8)
        XCTAssertEqual(message.sender, "j\u{F6}rg@b\u{FC}cher.example")
    }

    func testReceivedSaysUTF8SMTPAndKeepsTheUTF8Recipient() {
        var session = greeted()
        _ = session.send("MAIL FROM:<bob@example.org> SMTPUTF8\r\nRCPT TO:<j\u{F6}rg@example.test>\r\n")
        _ = session.accept("j")
        _ = session.send("DATA\r\n")
        XCTAssertEqual(
            session.opened("QID").last,
            .written(
                "Received: from client.example.org ([192.0.2.1])\r\n\tby mx.example.test (Postern) with UTF8SMTP id QID"
                    + "\r\n\tfor <j\u{F6}rg@example.test>; \(testDate)\r\n"))
    }

    func testUTF8RefusedWithoutSMTPUTF8() {
        var session = greeted()
        XCTAssertEqual(session.send("MAIL FROM:<j\u{F6}rg@example.org>\r\n"), [senderRefused])
        XCTAssertEqual(session.send("MAIL FROM:<bob@b\u{FC}cher.example>\r\n"), [senderRefused])
        XCTAssertEqual(session.send("MAIL FROM:<bob@example.org>\r\n"), [.reply("250 2.1.0 Ok\r\n")])
        XCTAssertEqual(session.send("RCPT TO:<j\u{F6}rg@example.test>\r\n"), [recipientRefused])
        XCTAssertEqual(session.send("RCPT TO:<a@b\u{FC}cher.example>\r\n"), [recipientRefused])
    }

    /// Malformed UTF-8 is a syntax error even under SMTPUTF8.
    func testMalformedUTF8IsRefused() {
        var session = greeted()
        for bad: [UInt8] in [
            [0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xC2, 0x85], [0xF4, 0x90, 0x80, 0x80], [0xE9], [0xFF],
        ] {
            XCTAssertEqual(
                session.send(bytes: Array("MAIL FROM:<a".utf8) + bad + Array("@example.org> SMTPUTF8\r\n".utf8)),
                [.reply("501 5.1.7 Bad sender address syntax\r\n")], "\(bad)")
            XCTAssertEqual(
                session.send(bytes: Array("MAIL FROM:<a@ex".utf8) + bad + Array(".org> SMTPUTF8\r\n".utf8)),
                [.reply("501 5.1.7 Bad sender address syntax\r\n")], "\(bad)")
        }
    }

    func testSMTPUTF8Parameter() {
        var session = greeted()
        XCTAssertEqual(
            session.send("MAIL FROM:<bob@example.org> SMTPUTF8=yes\r\n"),
            [.reply("501 5.5.4 Bad SMTPUTF8 parameter\r\n")])
        XCTAssertEqual(
            session.send("MAIL FROM:<bob@example.org> SMTPUTF8 smtputf8\r\n"),
            [.reply("501 5.5.4 Bad SMTPUTF8 parameter\r\n")])
        var helo = Session()
        _ = helo.start()
        _ = helo.send("HELO client.example.org\r\n")
        XCTAssertEqual(
            helo.send("MAIL FROM:<bob@example.org> SMTPUTF8\r\n"),
            [.reply("555 5.5.4 Unsupported option: SMTPUTF8\r\n")])
    }

    func testMailboxParserUTF8() throws {
        let utf8 = try MailboxAddress.parseForwardPath(Array("<\u{E9}@\u{E9}.example>".utf8), allowUTF8: true)
        XCTAssertEqual(utf8.address, "\u{E9}@\u{E9}.example")
        XCTAssertFalse(utf8.isASCII)
        XCTAssertTrue(MailboxAddress(localPart: "a", domain: "b.example").isASCII)
        XCTAssertThrowsError(try MailboxAddress.parseForwardPath(Array("<\u{E9}@x.example>".utf8))) { error in
            XCTAssertEqual(error as? MailboxAddressError, .nonASCII)
        }
        XCTAssertThrowsError(
            try MailboxAddress.parseForwardPath([0x3C, 0x61, 0xC0, 0xAF, 0x40, 0x62, 0x3E], allowUTF8: true)
        ) { error in
            XCTAssertEqual(error as? MailboxAddressError, .invalidUTF8)
        }
        // A U-label is still a label: 63 octets at most, no leading hyphen.
        let long = String(repeating: "\u{E9}", count: 32)  // 64 octets
        XCTAssertThrowsError(try MailboxAddress.parseForwardPath(Array("<a@\(long).example>".utf8), allowUTF8: true))
        XCTAssertThrowsError(try MailboxAddress.parseForwardPath(Array("<a@-\u{E9}.example>".utf8), allowUTF8: true))
    }

    // MARK: - Received: protocol names

    private func receivedProtocol(
        ehlo: Bool = true, utf8: Bool = false, tls: Bool = false, authenticated: Bool = false
    ) -> String {
        var session = Session()
        session.machine.protocolFlags = (tls: tls, authenticated: authenticated)
        _ = session.start()
        _ = session.send(ehlo ? "EHLO client.example.org\r\n" : "HELO client.example.org\r\n")
        _ = session.send("MAIL FROM:<bob@example.org>\(utf8 ? " SMTPUTF8" : "")\r\nRCPT TO:<a@example.test>\r\n")
        _ = session.accept("a")
        _ = session.send("DATA\r\n")
        let header = text(spool(session.opened("QID")))
        let with = header.range(of: " with ")!.upperBound
        return String(header[with...].prefix { $0 != " " })
    }

    func testProtocolNames() {
        XCTAssertEqual(receivedProtocol(ehlo: false), "SMTP")
        XCTAssertEqual(receivedProtocol(), "ESMTP")
        XCTAssertEqual(receivedProtocol(tls: true), "ESMTPS")
        XCTAssertEqual(receivedProtocol(authenticated: true), "ESMTPA")
        XCTAssertEqual(receivedProtocol(tls: true, authenticated: true), "ESMTPSA")
        XCTAssertEqual(receivedProtocol(utf8: true), "UTF8SMTP")
        XCTAssertEqual(receivedProtocol(utf8: true, tls: true), "UTF8SMTPS")
        XCTAssertEqual(receivedProtocol(utf8: true, authenticated: true), "UTF8SMTPA")
        XCTAssertEqual(receivedProtocol(utf8: true, tls: true, authenticated: true), "UTF8SMTPSA")
        XCTAssertFalse(Session().machine.protocolFlags.tls)
    }

    func testReceivedWithoutHeloNamesTheClientAddress() {
        var session = Session()
        _ = session.start()
        _ = session.send("MAIL FROM:<bob@example.org>\r\nRCPT TO:<a@example.test>\r\n")
        _ = session.accept("a")
        _ = session.send("DATA\r\n")
        XCTAssertEqual(
            session.opened("QID").last,
            .written(
                "Received: from [192.0.2.1] ([192.0.2.1])\r\n\tby mx.example.test (Postern) with SMTP id QID"
                    + "\r\n\tfor <a@example.test>; \(testDate)\r\n"))
        guard let message = commits(session.send(".\r\n")).first else { return XCTFail("no commit") }
        XCTAssertEqual(message.helo, "")
    }
}
