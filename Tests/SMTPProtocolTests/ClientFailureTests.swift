import XCTest

@testable import SMTPProtocol

/// Timeouts, lost connections, protocol violations and unreadable content:
/// each defers what has no final answer, and nothing worse.
final class ClientFailureTests: XCTestCase {
    /// The RFC 5321 §4.5.3.2 value for each wait, in a plain transcript.
    func testTimerValues() {
        var client = Client()
        let timeouts = SMTPClientTimeouts()
        XCTAssertEqual(
            [timeouts.greeting, timeouts.mail, timeouts.rcpt, timeouts.dataInitiation, timeouts.dataBlock],
            [300, 300, 300, 120, 180])
        XCTAssertEqual(timeouts.dataTermination, 600)
        var armed: [SMTPClientAction] = []
        armed += timers(client.on(.connected))
        armed += timers(client.server("220 x\r\n"))
        armed += timers(client.server("250 x\r\n"))
        armed += timers(client.give(message()))
        armed += timers(client.server("250 ok\r\n"))
        armed += timers(client.server("250 ok\r\n"))
        armed += timers(client.server("354 go\r\n"))
        armed += timers(client.content("x\r\n"))
        armed += timers(client.on(.contentEnd))
        armed += timers(client.server("250 ok\r\n"))
        armed += timers(client.on(.noMoreMessages))
        XCTAssertEqual(
            armed,
            [
                .armTimer(seconds: 300), .armTimer(seconds: 300), .cancelTimer, .armTimer(seconds: 300),
                .armTimer(seconds: 300), .armTimer(seconds: 120), .armTimer(seconds: 180), .armTimer(seconds: 180),
                .armTimer(seconds: 600), .cancelTimer, .armTimer(seconds: 300),
            ])
    }

    func testConfiguredTimeouts() {
        var client = Client(
            timeouts: SMTPClientTimeouts(
                greeting: 1, mail: 2, rcpt: 3, dataInitiation: 4, dataBlock: 5, dataTermination: 6, command: 7))
        XCTAssertEqual(client.on(.connected), [.armTimer(seconds: 1)])
        XCTAssertEqual(timers(client.server("220 x\r\n")), [.armTimer(seconds: 7)])
        client.server("250 x\r\n")
        XCTAssertEqual(timers(client.give(message())), [.armTimer(seconds: 2)])
        XCTAssertEqual(timers(client.server("250 ok\r\n")), [.armTimer(seconds: 3)])
        XCTAssertEqual(timers(client.server("250 ok\r\n")), [.armTimer(seconds: 4)])
        XCTAssertEqual(timers(client.server("354 ok\r\n")), [.armTimer(seconds: 5)])
        XCTAssertEqual(timers(client.on(.contentEnd)), [.armTimer(seconds: 6)])
    }

    /// A server that trickles a reply does not get its wait extended.
    func testPartialRepliesDoNotRearmTheTimer() {
        var client = Client()
        client.on(.connected)
        XCTAssertEqual(client.server("22"), [])
        XCTAssertEqual(client.server("0 hel"), [])
        XCTAssertEqual(timers(client.server("lo\r\n")), [.armTimer(seconds: 300)])
    }

    func testTimeoutWaitingForRCPT() {
        var client = Client()
        client.open(["PIPELINING"])
        client.give(message(1, to: ["a@example.test", "b@example.test"]))
        client.give(message(2))
        client.server("250 ok\r\n550 5.1.1 no\r\n")
        let actions = client.on(.timedOut)
        let text = "conversation with host \(hostText) timed out while waiting for reply to RCPT TO"
        XCTAssertEqual(failures(actions), [SessionFailure(status: "4.4.2", text: text)])
        XCTAssertEqual(outcomes(reports(actions).first), ["failed 5.1.1", "deferred 4.4.2"])
        XCTAssertEqual(reports(actions).first?.results[1].text, text)
        XCTAssertEqual(reports(actions).map(\.attempted), [true, false])
        XCTAssertEqual(sent(actions), "")
        XCTAssertEqual(actions.last, .close)
    }

    func testTimeoutWaitingForTheGreeting() {
        var client = Client()
        client.give(message())
        client.on(.connected)
        let actions = client.on(.timedOut)
        XCTAssertEqual(
            reports(actions).first?.results.first?.text,
            "conversation with host \(hostText) timed out while waiting for the greeting")
    }

    func testTimeoutWaitingForTheEndOfData() {
        var client = Client()
        client.open(["PIPELINING"])
        client.give(message())
        client.server("250 ok\r\n250 ok\r\n354 go\r\n")
        client.on(.contentEnd)
        let report = reports(client.on(.timedOut)).first
        XCTAssertEqual(outcomes(report), ["deferred 4.4.2"])
        XCTAssertEqual(
            report?.results.first?.text,
            "conversation with host \(hostText) timed out while waiting for reply to end of DATA")
    }

    func testAStaleTimerWhileIdleIsIgnored() {
        var client = Client()
        client.open([])
        XCTAssertEqual(client.on(.timedOut), [])
        XCTAssertTrue(client.machine.isIdle)
    }

    func testTimeoutWhileQuittingIsANormalEnd() {
        var client = Client()
        client.open([])
        client.on(.noMoreMessages)
        XCTAssertEqual(client.on(.timedOut), [.close])
    }

    func testConnectionLostWhileSending() {
        var client = Client()
        client.open(["PIPELINING"])
        client.give(message())
        client.server("250 ok\r\n250 ok\r\n354 go\r\n")
        client.content("part")
        let actions = client.on(.connectionClosed)
        XCTAssertEqual(
            reports(actions).first?.results.first?.queueText,
            "4.4.2 lost connection with host \(hostText) while sending the message")
        XCTAssertEqual(actions.last, .close)
        XCTAssertEqual(client.on(.connectionClosed), [])
    }

    func testConnectionLostWhileIdleAndAfterQuit() {
        var client = Client()
        client.open([])
        let actions = client.on(.connectionClosed)
        XCTAssertEqual(failures(actions).map(\.text), ["lost connection with host \(hostText)"])
        var quitting = Client()
        quitting.open([])
        quitting.on(.noMoreMessages)
        XCTAssertEqual(quitting.on(.connectionClosed), [.close])
    }

    func testMalformedReplyMidTransaction() {
        var client = Client()
        client.open(["PIPELINING"])
        client.give(message(to: ["a@example.test", "b@example.test"]))
        let actions = client.server("250 ok\r\n250 ok\r\n250-x\r\n550 y\r\n")
        let text =
            "host \(hostText) violated the SMTP protocol: malformed reply (code 550 inside reply 250)"
            + " while waiting for reply to RCPT TO"
        XCTAssertEqual(outcomes(reports(actions).first), ["deferred 4.5.0", "deferred 4.5.0"])
        XCTAssertEqual(reports(actions).first?.results.last?.text, text)
    }

    func testUnexpectedCodes() {
        var client = Client()
        client.open([])
        client.give(message())
        let actions = client.server("354 what\r\n")
        XCTAssertEqual(
            failures(actions).map(\.text),
            [
                "host \(hostText) violated the SMTP protocol: unexpected reply code 354"
                    + " while waiting for reply to MAIL FROM"
            ])
        var data = Client()
        data.open([])
        data.give(message())
        data.server("250 ok\r\n")
        data.server("250 ok\r\n")
        XCTAssertEqual(failures(data.server("250 fine\r\n")).map(\.status), ["4.5.0"])
    }

    func testUnsolicitedReplies() {
        var idle = Client()
        idle.open([])
        XCTAssertEqual(
            failures(idle.server("250 surprise\r\n")).map(\.text),
            ["host \(hostText) violated the SMTP protocol: unexpected reply 250 when none was due"])
        // While DATA content is being sent, the server owes nothing.
        var sending = Client()
        sending.open(["PIPELINING"])
        sending.give(message())
        sending.server("250 ok\r\n250 ok\r\n354 go\r\n")
        XCTAssertEqual(outcomes(reports(sending.server("250 early\r\n")).first), ["deferred 4.5.0"])
        // One reply too many in a pipelined batch.
        var extra = Client()
        extra.open(["PIPELINING"])
        extra.give(message())
        let actions = extra.server("250 ok\r\n250 ok\r\n354 go\r\n250 extra\r\n")
        XCTAssertEqual(outcomes(reports(actions).first), ["deferred 4.5.0"])
    }

    /// Replies before a framing error count; the error only defers what
    /// is still open.
    func testRepliesBeforeAnErrorAreKept() {
        var client = Client()
        client.open(["PIPELINING"])
        client.give(message(1))
        client.give(message(2))
        client.server("250 ok\r\n250 ok\r\n354 go\r\n")
        client.on(.contentEnd)
        let actions = client.server("250 2.0.0 queued\r\n\u{0}garbage\r\n")
        let reported = reports(actions)
        XCTAssertEqual(outcomes(reported.first), ["delivered 2.0.0"])
        // Message 2 was begun after the 250 and is deferred by the garbage.
        XCTAssertEqual(outcomes(reported.last), ["deferred 4.5.0"])
        XCTAssertEqual(reported.map(\.queueID), [queueID(1), queueID(2)])
    }

    func testAFinalReplyWithABareLFIsNotADelivery() {
        var client = Client()
        client.open(["PIPELINING"])
        client.give(message())
        client.server("250 ok\r\n250 ok\r\n354 go\r\n")
        client.on(.contentEnd)
        XCTAssertEqual(outcomes(reports(client.server("250 ok\n")).first), ["deferred 4.5.0"])
    }

    func testHugeReplyDefers() {
        var client = Client()
        client.open(["PIPELINING"])
        client.give(message())
        let actions = client.server(
            String(repeating: "250-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n", count: 400))
        XCTAssertEqual(failures(actions).map(\.status), ["4.5.0"])
        XCTAssertEqual(outcomes(reports(actions).first), ["deferred 4.5.0"])
    }

    func testUnreadableContentDropsTheConnection() {
        var client = Client()
        client.open(["PIPELINING"])
        client.give(message())
        client.server("250 ok\r\n250 ok\r\n354 go\r\n")
        client.content("half")
        let actions = client.on(.contentUnreadable)
        // No "." goes out: half a message must not be delivered.
        XCTAssertEqual(sent(actions), "")
        XCTAssertEqual(outcomes(reports(actions).first), ["deferred 4.3.0"])
        XCTAssertEqual(actions.last, .close)
    }

    func testContentNobodyAskedForIsIgnored() {
        var client = Client()
        client.open([])
        XCTAssertEqual(client.content("x"), [])
        XCTAssertEqual(client.on(.contentEnd), [])
        XCTAssertEqual(client.on(.contentUnreadable), [])
        XCTAssertTrue(client.machine.isIdle)
    }

    /// What the server says reaches the queue as bounded printable ASCII.
    func testResultTextsAreSanitisedAndBounded() {
        var client = Client()
        client.open([])
        client.give(message())
        client.server("250 ok\r\n")
        let long = String(repeating: "é\tx", count: 400)
        let text = reports(client.server("550-5.1.1 \(long)\r\n550 second line\r\n")).first?.results.first?.text ?? ""
        XCTAssertTrue(text.hasPrefix("host \(hostText) said: 550 5.1.1 ?"), text)
        XCTAssertTrue(text.hasSuffix("... (in reply to RCPT TO)"), text)
        XCTAssertTrue(text.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F })
        XCTAssertLessThanOrEqual(text.utf8.count, 500)
        XCTAssertTrue(text.contains("? x"))
    }

    func testRemoteNameIsSanitisedToo() {
        var client = Client()
        client.machine = SMTPClientStateMachine(
            settings: SMTPClientSettings(
                heloName: "relay\r\nRSET", remoteName: "evil\u{1B}name", remoteAddress: "192.0.2.1", tlsPolicy: .none))
        client.give(message())
        client.on(.connected)
        XCTAssertEqual(sent(client.server("220 x\r\n")), "EHLO relayRSET\r\n")
        let text = reports(client.server("421 bye\r\n")).first?.results.first?.text
        XCTAssertEqual(text, "host evil?name[192.0.2.1] said: 421 bye (in reply to EHLO)")
    }
}
