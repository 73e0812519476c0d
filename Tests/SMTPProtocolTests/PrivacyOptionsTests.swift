import XCTest

@testable import SMTPProtocol

/// Every PrivacyOptions flag, on and off.
final class PrivacyOptionsTests: XCTestCase {
    private let polite = Event.reply("503 5.0.0 Polite people say HELO first\r\n")
    private let introduce = Event.reply("503 5.0.0 I demand that you introduce yourself first\r\n")
    private let cannotVerify = Event.reply(
        "252 2.5.2 Cannot VRFY user; try RCPT to attempt delivery (or try finger)\r\n")
    private let notAllowed = Event.reply("502 5.7.0 Sorry, we do not allow this operation\r\n")
    private let expnNotImplemented = Event.reply("502 5.7.0 EXPN is not implemented\r\n")

    private func session(_ privacy: Set<PrivacyOption>, helo: Bool = false) -> Session {
        var session = Session(.test(privacy: privacy))
        _ = session.start()
        if helo { _ = session.send("HELO client.example.org\r\n") }
        return session
    }

    func testFlagsAreSendmailsNames() {
        XCTAssertEqual(
            PrivacyOption.allCases.map(\.rawValue),
            [
                "needmailhelo", "needexpnhelo", "needvrfyhelo", "noexpn", "novrfy", "noetrn", "noverb",
                "restrictmailq", "restrictqrun", "restrictexpand", "noreceipts", "nobodyreturn", "authwarnings",
                "noactualrecipient",
            ])
    }

    func testNeedMailHelo() {
        var on = session([.needmailhelo])
        XCTAssertEqual(on.send("MAIL FROM:<bob@example.org>\r\n"), [polite])
        _ = on.send("EHLO client.example.org\r\n")
        XCTAssertEqual(on.send("MAIL FROM:<bob@example.org>\r\n"), [.reply("250 2.1.0 Ok\r\n")])

        var off = session([])
        XCTAssertEqual(off.send("MAIL FROM:<bob@example.org>\r\n"), [.reply("250 2.1.0 Ok\r\n")])
    }

    /// Without HELO there is no EHLO either, so ESMTP parameters are refused.
    func testMailWithoutHeloIsPlainSMTP() {
        var off = session([])
        XCTAssertEqual(
            off.send("MAIL FROM:<bob@example.org> SIZE=10\r\n"), [.reply("555 5.5.4 Unsupported option: SIZE\r\n")])
    }

    func testNeedVrfyHelo() {
        var on = session([.needvrfyhelo])
        XCTAssertEqual(on.send("VRFY root\r\n"), [introduce])
        _ = on.send("HELO client.example.org\r\n")
        XCTAssertEqual(on.send("VRFY root\r\n"), [cannotVerify])

        var off = session([])
        XCTAssertEqual(off.send("VRFY root\r\n"), [cannotVerify])
    }

    /// VRFY reveals nothing with or without `novrfy`: the same 252. As in
    /// Sendmail, `novrfy` answers before `needvrfyhelo` would ask for HELO.
    func testNoVrfy() {
        var on = session([.novrfy])
        XCTAssertEqual(on.send("VRFY root\r\n"), [cannotVerify])
        var both = session([.novrfy, .needvrfyhelo])
        XCTAssertEqual(both.send("VRFY root\r\n"), [cannotVerify])
        var off = session([], helo: true)
        XCTAssertEqual(off.send("VRFY nosuchuser\r\n"), [cannotVerify])
    }

    func testNeedExpnHelo() {
        var on = session([.needexpnhelo])
        XCTAssertEqual(on.send("EXPN staff\r\n"), [introduce])
        _ = on.send("HELO client.example.org\r\n")
        XCTAssertEqual(on.send("EXPN staff\r\n"), [expnNotImplemented])

        var off = session([])
        XCTAssertEqual(off.send("EXPN staff\r\n"), [expnNotImplemented])
    }

    func testNoExpn() {
        var on = session([.noexpn])
        XCTAssertEqual(on.send("EXPN staff\r\n"), [notAllowed])
        var both = session([.noexpn, .needexpnhelo])
        XCTAssertEqual(both.send("EXPN staff\r\n"), [notAllowed])
        var off = session([], helo: true)
        XCTAssertEqual(off.send("EXPN staff\r\n"), [expnNotImplemented])
    }

    func testNoEtrn() {
        var on = session([.noetrn], helo: true)
        XCTAssertEqual(on.send("ETRN example.org\r\n"), [notAllowed])
        // Without the flag ETRN is answered honestly: no queue run starts.
        var off = session([], helo: true)
        XCTAssertEqual(off.send("ETRN example.org\r\n"), [.reply("458 4.5.0 Unable to queue messages for node\r\n")])
        XCTAssertEqual(off.send("ETRN\r\n"), [.reply("501 5.5.4 Syntax: ETRN domain\r\n")])
    }

    func testNoVerb() {
        var on = session([.noverb])
        XCTAssertEqual(on.send("VERB\r\n"), [.reply("502 5.7.0 Verbose unavailable\r\n")])
        var off = session([])
        XCTAssertEqual(off.send("VERB\r\n"), [.reply("250 2.0.0 Verbose mode\r\n")])
        // Nothing changed: the session goes on exactly as before.
        XCTAssertEqual(off.send("NOOP\r\n"), [.reply("250 2.0.0 Ok\r\n")])
    }

    func testNoReceiptsHidesDSN() {
        var on = session([.noreceipts])
        XCTAssertEqual(
            on.send("EHLO client.example.org\r\n"),
            [
                .reply(
                    "250-mx.example.test\r\n250-PIPELINING\r\n250-SIZE 10485760\r\n250-8BITMIME\r\n"
                        + "250-ENHANCEDSTATUSCODES\r\n250-SMTPUTF8\r\n250 CHUNKING\r\n")
            ])
        var off = session([])
        XCTAssertEqual(
            off.send("EHLO client.example.org\r\n"),
            [
                .reply(
                    "250-mx.example.test\r\n250-PIPELINING\r\n250-SIZE 10485760\r\n250-8BITMIME\r\n"
                        + "250-ENHANCEDSTATUSCODES\r\n250-SMTPUTF8\r\n250-DSN\r\n250 CHUNKING\r\n")
            ])
    }

    private func committedNotify(_ privacy: Set<PrivacyOption>, _ notify: [String]) -> [DSNNotify?] {
        var session = Session(.test(privacy: privacy))
        _ = session.start()
        _ = session.send("EHLO client.example.org\r\nMAIL FROM:<bob@example.org>\r\n")
        for (index, value) in notify.enumerated() {
            let parameter = value.isEmpty ? "" : " NOTIFY=\(value)"
            XCTAssertEqual(
                session.send("RCPT TO:<r\(index)@example.test>\(parameter)\r\n"), [.check("r\(index)@example.test")])
            _ = session.accept("r\(index)")
        }
        _ = session.send("DATA\r\n")
        _ = session.opened("QID")
        return commits(session.send(".\r\n")).first?.recipients.map(\.notify) ?? []
    }

    func testNoReceiptsDropsSuccessNotifications() {
        let requests = ["SUCCESS", "SUCCESS,FAILURE", "DELAY,SUCCESS", "NEVER", "FAILURE", ""]
        XCTAssertEqual(
            committedNotify([.noreceipts], requests), [[.never], [.failure], [.delay], [.never], [.failure], nil])
        XCTAssertEqual(
            committedNotify([], requests),
            [[.success], [.success, .failure], [.delay, .success], [.never], [.failure], nil])
    }

    private func addedHeaders(_ privacy: Set<PrivacyOption>, helo: String?, client: String = testClient) -> String {
        var session = Session(.test(privacy: privacy), client: client)
        _ = session.start()
        if let helo { _ = session.send("HELO \(helo)\r\n") }
        _ = session.send("MAIL FROM:<bob@example.org>\r\nRCPT TO:<a@example.test>\r\n")
        _ = session.accept("a")
        _ = session.send("DATA\r\n")
        _ = session.opened("QID")
        let events = session.send("Subject: x\r\n\r\nbody\r\n.\r\n")
        XCTAssertEqual(commits(events).count, 1)
        let spooled = text(spool(events))
        return String(spooled[..<spooled.range(of: "\r\n\r\n")!.lowerBound])
    }

    func testAuthWarnings() {
        XCTAssertEqual(
            addedHeaders([.authwarnings], helo: nil),
            "Subject: x\r\nX-Authentication-Warning: mx.example.test: [192.0.2.1] didn't use HELO protocol")
        XCTAssertEqual(
            addedHeaders([.authwarnings], helo: "[192.0.2.9]"),
            "Subject: x\r\nX-Authentication-Warning: mx.example.test: Host [192.0.2.1] claimed to be [192.0.2.9]")
        XCTAssertEqual(addedHeaders([.authwarnings], helo: "[192.0.2.1]"), "Subject: x")
        XCTAssertEqual(
            addedHeaders([.authwarnings], helo: "[ipv6:2001:db8::1]", client: "2001:DB8::1"), "Subject: x")
        XCTAssertEqual(addedHeaders([.authwarnings], helo: "client.example.org"), "Subject: x")
        XCTAssertEqual(addedHeaders([], helo: nil), "Subject: x")
        XCTAssertEqual(addedHeaders([], helo: "[192.0.2.9]"), "Subject: x")
    }

    /// The flags for the queue and local delivery change nothing a client
    /// can see.
    func testOtherFlagsHaveNoSMTPEffect() {
        let script =
            "EHLO client.example.org\r\nVRFY a\r\nEXPN a\r\nETRN a\r\nVERB\r\nMAIL FROM:<bob@example.org>\r\n"
            + "RCPT TO:<a@example.test> NOTIFY=SUCCESS\r\n"
        func run(_ privacy: Set<PrivacyOption>) -> [Event] {
            var session = Session(.test(privacy: privacy))
            var events = session.start()
            events += session.send(script)
            events += session.accept("a")
            events += session.send("DATA\r\n")
            events += session.opened("QID")
            events += session.send("Subject: x\r\n\r\nbody\r\n.\r\n")
            events += session.committed()
            return events
        }
        XCTAssertEqual(
            run([.restrictmailq, .restrictqrun, .restrictexpand, .nobodyreturn, .noactualrecipient]), run([]))
    }
}
