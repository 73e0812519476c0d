import XCTest

@testable import SMTPProtocol

/// Greeting, EHLO and the HELO fallback, and STARTTLS under each policy.
final class ClientSessionTests: XCTestCase {
    func testGreetingEHLOAndQuitWithoutMessages() {
        var client = Client()
        XCTAssertEqual(client.on(.connected), [.armTimer(seconds: 300)])
        XCTAssertEqual(
            client.server("220-\(remoteName) ESMTP\r\n220 welcome\r\n"),
            [.send(Array("EHLO relay.example.org\r\n".utf8)), .armTimer(seconds: 300)])
        XCTAssertEqual(client.server(ehloReply(["PIPELINING"])), [.cancelTimer])
        XCTAssertTrue(client.machine.isIdle)
        XCTAssertEqual(client.on(.noMoreMessages), [.send(Array("QUIT\r\n".utf8)), .armTimer(seconds: 300)])
        XCTAssertEqual(client.server("221 2.0.0 bye\r\n"), [.close])
        XCTAssertTrue(client.machine.isClosed)
        XCTAssertEqual(client.on(.connectionClosed), [])
    }

    func testGreetingRefusedDefersEveryPendingMessage() {
        var client = Client()
        client.give(message(1, to: ["a@example.test", "b@example.test"]))
        client.give(message(2))
        client.on(.connected)
        let actions = client.server("554 5.7.1 not talking to you\r\n")
        // The server waits for QUIT after a 554 greeting (RFC 5321 §3.1).
        XCTAssertEqual(sent(actions), "QUIT\r\n")
        let text = "host \(hostText) refused to talk to me: 554 5.7.1 not talking to you"
        XCTAssertEqual(failures(actions), [SessionFailure(status: "4.7.1", text: text)])
        XCTAssertEqual(actions.last, .close)
        let reported = reports(actions)
        XCTAssertEqual(reported.map(\.queueID), [queueID(1), queueID(2)])
        XCTAssertEqual(reported.map(\.attempted), [false, false])
        XCTAssertEqual(outcomes(reported.first), ["deferred 4.7.1", "deferred 4.7.1"])
        XCTAssertEqual(reported.first?.results.first?.text, text)
        XCTAssertEqual(reported.first?.results.map(\.index), [0, 1])
    }

    func testGreeting421ClosesWithoutQuit() {
        var client = Client()
        client.give(message())
        client.on(.connected)
        let actions = client.server("421 busy, try later\r\n")
        XCTAssertEqual(sent(actions), "")
        XCTAssertEqual(outcomes(reports(actions).first), ["deferred 4.0.0"])
        XCTAssertEqual(actions.last, .close)
    }

    func testGarbageGreeting() {
        for greeting in ["SSH-2.0-OpenSSH_9.6\r\n", "250 hello\r\n", "354 what\r\n", "220 ok\n"] {
            var client = Client()
            client.give(message())
            client.on(.connected)
            let actions = client.server(greeting)
            XCTAssertEqual(failures(actions).map(\.status), ["4.5.0"], greeting)
            XCTAssertEqual(outcomes(reports(actions).first), ["deferred 4.5.0"], greeting)
            XCTAssertEqual(actions.last, .close, greeting)
            XCTAssertEqual(sent(actions), "", greeting)
        }
    }

    func testHELOFallbackSendsNoParameters() {
        var client = Client()
        client.on(.connected)
        client.server("220 old SMTP\r\n")
        XCTAssertEqual(sent(client.server("502 5.5.2 what is EHLO\r\n")), "HELO relay.example.org\r\n")
        client.server("250 old\r\n")
        XCTAssertTrue(client.machine.isIdle)
        XCTAssertEqual(client.machine.serverCapabilities, .none)
        let mail = message(
            to: ["a@example.test", "b@example.test"], size: 5000, dsnReturn: .full, envelopeID: "x", notify: .success,
            orcpt: "rfc822;a@example.test")
        // Without PIPELINING, one command at a time, and no ESMTP parameter.
        XCTAssertEqual(sent(client.give(mail)), "MAIL FROM:<bob@example.org>\r\n")
        XCTAssertEqual(sent(client.server("250 ok\r\n")), "RCPT TO:<a@example.test>\r\n")
        XCTAssertEqual(sent(client.server("250 ok\r\n")), "RCPT TO:<b@example.test>\r\n")
        XCTAssertEqual(sent(client.server("250 ok\r\n")), "DATA\r\n")
    }

    func testHELORefused() {
        var client = Client()
        client.give(message())
        client.on(.connected)
        client.server("220 x\r\n")
        client.server("500 no\r\n")
        let actions = client.server("550 5.7.1 go away\r\n")
        XCTAssertEqual(sent(actions), "QUIT\r\n")
        XCTAssertEqual(
            reports(actions).first?.results.first?.text, "host \(hostText) said: 550 5.7.1 go away (in reply to HELO)")
        XCTAssertEqual(outcomes(reports(actions).first), ["deferred 4.7.1"])
    }

    func testEHLOTemporaryFailureDefers() {
        var client = Client()
        client.give(message())
        client.on(.connected)
        client.server("220 x\r\n")
        let actions = client.server("451 4.3.0 later\r\n")
        XCTAssertEqual(sent(actions), "QUIT\r\n")
        XCTAssertEqual(outcomes(reports(actions).first), ["deferred 4.3.0"])
        XCTAssertEqual(reports(actions).first?.attempted, false)
    }

    // MARK: - STARTTLS

    /// Greets, answers EHLO offering STARTTLS, and expects STARTTLS.
    private func startTLS(_ client: inout Client, first: [String] = ["PIPELINING", "STARTTLS"]) {
        client.on(.connected)
        client.server("220 x ESMTP\r\n")
        XCTAssertEqual(sent(client.server(ehloReply(first))), "STARTTLS\r\n")
    }

    func testPolicyNoneNeverStartsTLS() {
        var client = Client(policy: .none)
        client.open(["STARTTLS", "PIPELINING"])
        XCTAssertFalse(client.machine.isTLSActive)
        XCTAssertTrue(sent(client.give(message())).hasPrefix("MAIL FROM:"))
    }

    func testPolicyMayUpgradesAndAsksEHLOAgain() {
        var client = Client(policy: .may)
        startTLS(&client)
        XCTAssertEqual(client.server("220 2.0.0 Ready to start TLS\r\n"), [.startTLS, .armTimer(seconds: 300)])
        XCTAssertFalse(client.machine.isIdle)
        XCTAssertEqual(
            client.on(.tlsEstablished), [.send(Array("EHLO relay.example.org\r\n".utf8)), .armTimer(seconds: 300)])
        XCTAssertTrue(client.machine.isTLSActive)
        // What was offered in cleartext no longer counts.
        client.server(ehloReply(["DSN", "STARTTLS"]))
        XCTAssertTrue(client.machine.isIdle)
        XCTAssertFalse(client.machine.serverCapabilities.pipelining)
        XCTAssertTrue(client.machine.serverCapabilities.dsn)
        XCTAssertEqual(sent(client.give(message())), "MAIL FROM:<bob@example.org>\r\n")
    }

    func testPolicyMayGoesOnInCleartextWhenSTARTTLSIsRefused() {
        var client = Client(policy: .may)
        client.give(message())
        startTLS(&client)
        let actions = client.server("454 4.7.0 TLS not available\r\n")
        XCTAssertEqual(
            sent(actions), "MAIL FROM:<bob@example.org>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n")
        XCTAssertFalse(client.machine.isTLSActive)
    }

    func testPolicyMayWithoutSTARTTLSOffered() {
        var client = Client(policy: .may)
        client.open(["PIPELINING"])
        XCTAssertFalse(client.machine.isTLSActive)
    }

    func testPolicyMayHandshakeFailureAllowsACleartextRetry() {
        var client = Client(policy: .may)
        client.give(message())
        startTLS(&client)
        client.server("220 go ahead\r\n")
        let actions = client.on(.tlsFailed)
        XCTAssertEqual(
            failures(actions),
            [SessionFailure(status: "4.7.5", text: "TLS handshake with host \(hostText) failed", retryWithoutTLS: true)]
        )
        XCTAssertEqual(reports(actions).map(\.attempted), [false])
        XCTAssertEqual(outcomes(reports(actions).first), ["deferred 4.7.5"])
        XCTAssertEqual(sent(actions), "")
        XCTAssertEqual(actions.last, .close)
    }

    func testRequiredTLSNotOffered() {
        for policy in [OutboundTLSPolicy.encrypt, .verify] {
            var client = Client(policy: policy)
            client.give(message())
            client.on(.connected)
            client.server("220 x\r\n")
            let actions = client.server(ehloReply(["PIPELINING"]))
            XCTAssertEqual(sent(actions), "QUIT\r\n")
            let text = "TLS is required, but was not offered by host \(hostText)"
            XCTAssertEqual(failures(actions), [SessionFailure(status: "4.7.4", text: text)])
            XCTAssertEqual(reports(actions).first?.results.first?.queueText, "4.7.4 " + text)
        }
    }

    func testRequiredTLSWithAnSMTPOnlyServer() {
        var client = Client(policy: .encrypt)
        client.give(message())
        client.on(.connected)
        client.server("220 x\r\n")
        client.server("502 no\r\n")
        let actions = client.server("250 hi\r\n")
        XCTAssertEqual(failures(actions).map(\.status), ["4.7.4"])
        XCTAssertFalse(sent(actions).contains("MAIL"))
    }

    func testRequiredTLSRefused() {
        var client = Client(policy: .encrypt)
        client.give(message())
        startTLS(&client)
        let actions = client.server("454 4.7.0 no TLS today\r\n")
        XCTAssertEqual(sent(actions), "QUIT\r\n")
        XCTAssertEqual(
            failures(actions),
            [
                SessionFailure(
                    status: "4.7.4",
                    text: "TLS is required, but host \(hostText) refused STARTTLS: 454 4.7.0 no TLS today")
            ])
        XCTAssertEqual(outcomes(reports(actions).first), ["deferred 4.7.4"])
    }

    func testRequiredTLSHandshakeFailureIsNotRetriedInCleartext() {
        var client = Client(policy: .verify)
        client.give(message())
        startTLS(&client)
        client.server("220 go\r\n")
        XCTAssertEqual(failures(client.on(.tlsFailed)).map(\.retryWithoutTLS), [false])
    }

    func testRequiredTLSEstablished() {
        var client = Client(policy: .verify)
        startTLS(&client)
        client.server("220 go\r\n")
        client.on(.tlsEstablished)
        // STARTTLS offered again under TLS is not taken up twice.
        XCTAssertEqual(client.server(ehloReply(["STARTTLS", "PIPELINING"])), [.cancelTimer])
        XCTAssertTrue(client.machine.isIdle)
    }

    /// CVE-2011-0411 turned around: a reply injected behind the 220 must not
    /// be read as if it had come over TLS.
    func testBytesAfterTheSTARTTLSReplyAreRefused() {
        for tail in ["250 injected\r\n", "2"] {
            var client = Client(policy: .may)
            client.give(message())
            startTLS(&client)
            let actions = client.server("220 go ahead\r\n" + tail)
            XCTAssertFalse(actions.contains(.startTLS), tail)
            XCTAssertEqual(failures(actions).map(\.status), ["4.5.0"], tail)
            XCTAssertEqual(actions.last, .close, tail)
        }
    }

    func testCleartextDuringTheHandshakeIsRefused() {
        var client = Client(policy: .may)
        startTLS(&client)
        client.server("220 go\r\n")
        let actions = client.server("250 early\r\n")
        XCTAssertEqual(failures(actions).map(\.status), ["4.5.0"])
        XCTAssertEqual(client.on(.tlsEstablished), [])
    }

    func testUnaskedTLSEventsAreIgnored() {
        var client = Client(policy: .may)
        client.open(["PIPELINING"])
        XCTAssertEqual(client.on(.tlsEstablished), [])
        XCTAssertEqual(client.on(.tlsFailed), [])
        XCTAssertFalse(client.machine.isTLSActive)
        XCTAssertTrue(client.machine.isIdle)
    }

    func testHandshakeTimeout() {
        var client = Client(policy: .may)
        startTLS(&client)
        client.server("220 go\r\n")
        let actions = client.on(.timedOut)
        XCTAssertEqual(failures(actions).map(\.retryWithoutTLS), [true])
        XCTAssertEqual(failures(actions).map(\.status), ["4.4.2"])
    }
}
