import SMTPProtocol
import XCTest

/// STARTTLS (RFC 3207) and AUTH (RFC 4954) in the state machine.
final class SecurityTests: XCTestCase {
    private func settings(
        startTLS: Bool = true, mechanisms: [String] = ["PLAIN", "LOGIN"], cleartext: Bool = false,
        required: Bool = false, tls: Bool = false, maxAuthFailures: Int = 3
    ) -> SMTPServerSettings {
        var s = SMTPServerSettings.test()
        s.startTLSAvailable = startTLS
        s.authMechanisms = mechanisms
        s.authAllowCleartext = cleartext
        s.authRequired = required
        s.maxAuthFailures = maxAuthFailures
        s.protocolFlags.tls = tls
        return s
    }

    private func keywords(_ events: [Event]) -> [String] {
        guard case .reply(let text)? = events.first else { return [] }
        return text.split(separator: "\r\n").dropFirst().map { String($0.dropFirst(4)) }
    }

    func testEhloOffersStartTLSButNotAuthInCleartext() {
        var session = Session(settings())
        _ = session.start()
        let offered = keywords(session.send("EHLO client.example.org\r\n"))
        XCTAssertTrue(offered.contains("STARTTLS"))
        XCTAssertFalse(offered.contains { $0.hasPrefix("AUTH") })
        XCTAssertEqual(
            session.send("AUTH PLAIN\r\n"),
            [.reply("538 5.7.11 Encryption required for requested authentication mechanism\r\n")])
    }

    func testStartTLSDiscardsPipelinedCleartextAndResetsTheSession() {
        var session = Session(settings())
        _ = session.start()
        _ = session.send("EHLO client.example.org\r\n")
        // The injection: commands pipelined after STARTTLS in cleartext.
        let events = session.send("STARTTLS\r\nMAIL FROM:<evil@example.org>\r\nRCPT TO:<alice@example.test>\r\n")
        XCTAssertEqual(events, [.reply("220 2.0.0 Ready to start TLS\r\n"), .startTLS])
        XCTAssertTrue(session.machine.isWaiting)
        XCTAssertEqual(session.send("NOOP\r\n"), [])
        XCTAssertEqual(session.machine.tlsEstablished(description: "TLSv1.3 with cipher X (256/256 bits)"), [])
        // Nothing of it ran (no reply, no check); the session starts over.
        let after = keywords(session.send("EHLO client.example.org\r\n"))
        XCTAssertFalse(after.contains("STARTTLS"))
        XCTAssertTrue(after.contains("AUTH PLAIN LOGIN"))
        XCTAssertEqual(session.send("STARTTLS\r\n"), [.reply("503 5.5.1 Error: TLS already active\r\n")])
    }

    func testStartTLSRefusals() {
        var session = Session(settings(startTLS: false))
        _ = session.start()
        XCTAssertEqual(session.send("STARTTLS\r\n"), [.reply("502 5.5.1 Error: command not implemented\r\n")])
        session = Session(settings())
        _ = session.start()
        XCTAssertEqual(session.send("STARTTLS now\r\n"), [.reply("501 5.5.4 Syntax: STARTTLS\r\n")])
        _ = session.send("EHLO client.example.org\r\n")
        _ = session.send("MAIL FROM:<bob@example.org>\r\n")
        XCTAssertEqual(session.send("STARTTLS\r\n"), [.reply("503 5.5.1 Error: MAIL transaction in progress\r\n")])
    }

    func testAuthPlainWithInitialResponse() {
        var session = Session(settings(tls: true))
        _ = session.start()
        _ = session.send("EHLO client.example.org\r\n")
        XCTAssertEqual(
            session.send("AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n"),
            [.authStart("PLAIN", Array("\0alice\0secret".utf8))])
        XCTAssertEqual(
            session.machine.authenticationStep(.success(user: "alice")),
            [.reply(SMTPReply(code: 235, enhanced: "2.7.0", text: "Authentication successful"))])
        XCTAssertEqual(session.machine.authenticatedUser, "alice")
        XCTAssertEqual(session.send("AUTH PLAIN\r\n"), [.reply("503 5.5.1 Error: already authenticated\r\n")])
    }

    func testAuthLoginChallengesAndCancel() {
        var session = Session(settings(tls: true))
        _ = session.start()
        _ = session.send("EHLO client.example.org\r\n")
        XCTAssertEqual(session.send("AUTH LOGIN\r\n"), [.authStart("LOGIN", nil)])
        XCTAssertEqual(
            session.machine.authenticationStep(.challenge(Array("Username:".utf8))),
            [.reply(SMTPReply(code: 334, enhanced: "", text: "VXNlcm5hbWU6"))])
        XCTAssertEqual(session.send("YWxpY2U=\r\n"), [.authContinue(Array("alice".utf8))])
        XCTAssertEqual(
            session.machine.authenticationStep(.challenge([])), [.reply(SMTPReply(code: 334, enhanced: "", text: ""))])
        XCTAssertEqual(SMTPReply(code: 334, enhanced: "", text: "").description, "334 \r\n")
        XCTAssertEqual(session.send("*\r\n"), [.authAbort, .reply("501 5.0.0 Authentication aborted\r\n")])
        XCTAssertEqual(session.send("AUTH LOGIN\r\n"), [.authStart("LOGIN", nil)])
        _ = session.machine.authenticationStep(.challenge([]))
        XCTAssertEqual(session.send("not base64!\r\n"), [.authAbort, .reply("501 5.5.2 Cannot decode response\r\n")])
    }

    func testAuthRefusals() {
        var session = Session(settings(tls: true))
        _ = session.start()
        XCTAssertEqual(session.send("AUTH PLAIN\r\n"), [.reply("503 5.5.1 Error: send HELO/EHLO first\r\n")])
        _ = session.send("EHLO client.example.org\r\n")
        XCTAssertEqual(session.send("AUTH CRAM-MD5\r\n"), [.reply("504 5.5.4 Unrecognized authentication type\r\n")])
        XCTAssertEqual(session.send("AUTH PLAIN ***\r\n"), [.reply("501 5.5.2 Cannot decode response\r\n")])
        XCTAssertEqual(session.send("AUTH PLAIN =\r\n"), [.authStart("PLAIN", [])])
        session = Session(settings(mechanisms: []))
        _ = session.start()
        _ = session.send("EHLO client.example.org\r\n")
        XCTAssertEqual(session.send("AUTH PLAIN\r\n"), [.reply("503 5.5.1 Error: authentication not enabled\r\n")])
    }

    func testRepeatedFailuresCloseTheSession() {
        var session = Session(settings(tls: true, maxAuthFailures: 2))
        _ = session.start()
        _ = session.send("EHLO client.example.org\r\n")
        let invalid = SMTPReply(code: 535, enhanced: "5.7.8", text: "Authentication credentials invalid")
        _ = session.send("AUTH PLAIN AGFsaWNlAHdyb25n\r\n")
        XCTAssertEqual(session.machine.authenticationStep(.failure(invalid)), [.reply(invalid)])
        _ = session.send("AUTH PLAIN AGFsaWNlAHdyb25n\r\n")
        let last = session.machine.authenticationStep(.failure(invalid))
        XCTAssertEqual(last.first, .reply(invalid))
        XCTAssertEqual(last.last, .close)
        XCTAssertNil(session.machine.authenticatedUser)
    }

    func testSubmissionRequiresAuthBeforeMail() {
        var session = Session(settings(required: true, tls: true))
        _ = session.start()
        _ = session.send("EHLO client.example.org\r\n")
        XCTAssertEqual(
            session.send("MAIL FROM:<alice@example.test>\r\n"), [.reply("530 5.7.0 Authentication required\r\n")])
        _ = session.send("AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n")
        _ = session.machine.authenticationStep(.success(user: "alice"))
        XCTAssertEqual(session.send("MAIL FROM:<alice@example.test> AUTH=<>\r\n"), [.reply("250 2.1.0 Ok\r\n")])
    }

    func testBase64IsStrict() {
        XCTAssertEqual(Base64.decode(Array("YWxpY2U=".utf8)), Array("alice".utf8))
        XCTAssertEqual(Base64.encode(Array("alice".utf8)), "YWxpY2U=")
        for bad in ["YWxpY2U", "YWxp=2U=", "YWxpY2V=", "YW xp", "YQ==YQ==", "====", "Y==="] {
            XCTAssertNil(Base64.decode(Array(bad.utf8)), bad)
        }
        for length in 0..<20 {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
            XCTAssertEqual(Base64.decode(Array(Base64.encode(bytes).utf8)), bytes)
        }
    }
}
