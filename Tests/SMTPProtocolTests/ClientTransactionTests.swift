import XCTest

@testable import SMTPProtocol

/// Whole transactions: pipelined and not, per-recipient results, refusals
/// before sending, DSN parameters, BDAT, and connection reuse.
final class ClientTransactionTests: XCTestCase {
    private let three = ["a@example.test", "b@example.test", "c@example.test"]

    func testPipelinedTransaction() {
        var client = Client()
        client.open(["PIPELINING", "SIZE 1000000", "ENHANCEDSTATUSCODES"])
        let start = client.give(message(to: three, size: 1234))
        XCTAssertEqual(
            start,
            [
                .send(
                    Array(
                        ("MAIL FROM:<bob@example.org> SIZE=1234\r\nRCPT TO:<a@example.test>\r\n"
                            + "RCPT TO:<b@example.test>\r\nRCPT TO:<c@example.test>\r\nDATA\r\n").utf8)),
                .armTimer(seconds: 300),
            ])
        let replies = "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n450 4.2.0 mailbox busy\r\n550 5.1.1 no such user\r\n354 go\r\n"
        XCTAssertEqual(client.server(replies), [.readContent, .armTimer(seconds: 180)])
        XCTAssertEqual(
            client.content("Subject: hi\r\n\r\n.dot\r\n"),
            [.send(Array("Subject: hi\r\n\r\n..dot\r\n".utf8)), .readContent, .armTimer(seconds: 180)])
        XCTAssertEqual(client.on(.contentEnd), [.send(Array(".\r\n".utf8)), .armTimer(seconds: 600)])
        let end = client.server("250 2.0.0 Ok: queued as 4XYZ\r\n")
        XCTAssertEqual(end.last, .cancelTimer)
        let report = reports(end).first
        XCTAssertEqual(report?.queueID, queueID(1))
        XCTAssertEqual(report?.attempted, true)
        XCTAssertEqual(report?.dsnPassedOn, false)
        XCTAssertEqual(outcomes(report), ["delivered 2.0.0", "deferred 4.2.0", "failed 5.1.1"])
        XCTAssertEqual(
            report?.results.map(\.text),
            [
                "host \(hostText) said: 250 2.0.0 Ok: queued as 4XYZ (in reply to end of DATA)",
                "host \(hostText) said: 450 4.2.0 mailbox busy (in reply to RCPT TO)",
                "host \(hostText) said: 550 5.1.1 no such user (in reply to RCPT TO)",
            ])
        XCTAssertEqual(
            report?.results[2].queueText, "5.1.1 host \(hostText) said: 550 5.1.1 no such user (in reply to RCPT TO)")
        XCTAssertTrue(client.machine.isIdle)
    }

    /// The same transaction with its replies arriving a byte at a time.
    func testPipelinedRepliesInSingleBytes() {
        var client = Client()
        client.open(["PIPELINING"])
        client.give(message(to: three))
        var actions: [SMTPClientAction] = []
        for byte in "250 ok\r\n250 ok\r\n550 no\r\n250 ok\r\n354 go\r\n".utf8 {
            actions += client.on(.received([byte]))
        }
        XCTAssertEqual(actions.filter { $0 == .readContent }.count, 1)
        client.on(.contentEnd)
        let report = reports(client.server("250 done\r\n")).first
        XCTAssertEqual(outcomes(report), ["delivered 2.0.0", "failed 5.0.0", "delivered 2.0.0"])
    }

    func testOneCommandAtATimeWithoutPipelining() {
        var client = Client()
        client.open(["8BITMIME"])
        XCTAssertEqual(
            client.give(message(to: three)),
            [.send(Array("MAIL FROM:<bob@example.org>\r\n".utf8)), .armTimer(seconds: 300)])
        XCTAssertEqual(
            client.server("250 ok\r\n"), [.send(Array("RCPT TO:<a@example.test>\r\n".utf8)), .armTimer(seconds: 300)])
        XCTAssertEqual(sent(client.server("250 ok\r\n")), "RCPT TO:<b@example.test>\r\n")
        XCTAssertEqual(sent(client.server("551 5.1.6 moved\r\n")), "RCPT TO:<c@example.test>\r\n")
        XCTAssertEqual(client.server("250 ok\r\n"), [.send(Array("DATA\r\n".utf8)), .armTimer(seconds: 120)])
        XCTAssertEqual(client.server("354 go\r\n"), [.readContent, .armTimer(seconds: 180)])
        XCTAssertEqual(sent(client.content("body")), "body")
        XCTAssertEqual(sent(client.on(.contentEnd)), "\r\n.\r\n")
        let report = reports(client.server("250 ok\r\n")).first
        XCTAssertEqual(outcomes(report), ["delivered 2.0.0", "failed 5.1.6", "delivered 2.0.0"])
    }

    func testNoRecipientAcceptedSendsNoData() {
        var client = Client()
        client.open([])
        client.give(message(to: ["a@example.test"]))
        client.server("250 ok\r\n")
        let actions = client.server("550 5.1.1 unknown\r\n")
        XCTAssertEqual(sent(actions), "")
        XCTAssertEqual(outcomes(reports(actions).first), ["failed 5.1.1"])
        // MAIL was accepted: the next message starts with RSET.
        XCTAssertEqual(sent(client.give(message(2))), "RSET\r\n")
        XCTAssertEqual(sent(client.server("250 2.0.0 flushed\r\n")), "MAIL FROM:<bob@example.org>\r\n")
    }

    func testPipelinedNoRecipientAcceptedDATARefused() {
        var client = Client()
        client.open(["PIPELINING"])
        client.give(message(to: ["a@example.test", "b@example.test"]))
        let actions = client.server("250 ok\r\n550 no\r\n450 later\r\n554 5.5.1 no valid recipients\r\n")
        XCTAssertFalse(actions.contains(.readContent))
        XCTAssertEqual(outcomes(reports(actions).first), ["failed 5.0.0", "deferred 4.0.0"])
        XCTAssertEqual(sent(client.give(message(2))), "RSET\r\n")
    }

    /// RFC 2920 §3.1: a 354 after every RCPT failed gets a lone ".", and
    /// whatever the server says to it delivers nothing.
    func testPipelinedNoRecipientAcceptedDATAAccepted() {
        var client = Client()
        client.open(["PIPELINING"])
        client.give(message(to: ["a@example.test"]))
        let actions = client.server("250 ok\r\n550 5.1.1 no\r\n354 go\r\n")
        XCTAssertEqual(actions, [.send(Array(".\r\n".utf8)), .armTimer(seconds: 600)])
        let end = client.server("250 2.0.0 queued nothing\r\n")
        XCTAssertEqual(outcomes(reports(end).first), ["failed 5.1.1"])
        // That transaction ended with its data: no RSET.
        XCTAssertTrue(sent(client.give(message(2))).hasPrefix("MAIL FROM:"))
    }

    func testMAILRefused() {
        var client = Client()
        client.open(["PIPELINING"])
        client.give(message(to: ["a@example.test", "b@example.test"]))
        var actions = client.server("553 5.1.8 bad sender domain\r\n503 5.5.1 need MAIL\r\n")
        XCTAssertEqual(reports(actions), [])
        actions = client.server("503 5.5.1 need MAIL\r\n503 5.5.1 need RCPT\r\n")
        let report = reports(actions).first
        XCTAssertEqual(outcomes(report), ["failed 5.1.8", "failed 5.1.8"])
        XCTAssertEqual(
            report?.results.first?.text, "host \(hostText) said: 553 5.1.8 bad sender domain (in reply to MAIL FROM)")
        // No transaction was opened: no RSET.
        XCTAssertTrue(sent(client.give(message(2))).hasPrefix("MAIL FROM:"))
    }

    func testMAILDeferredWithoutPipelining() {
        var client = Client()
        client.open([])
        client.give(message(to: ["a@example.test", "b@example.test"]))
        let actions = client.server("451 4.3.0 try later\r\n")
        XCTAssertEqual(sent(actions), "")
        XCTAssertEqual(outcomes(reports(actions).first), ["deferred 4.3.0", "deferred 4.3.0"])
    }

    func testFinalReplyTemporaryAndPermanent() {
        for (reply, expected) in [
            ("451 4.3.0 queue trouble\r\n", "deferred 4.3.0"), ("554 5.7.1 spam\r\n", "failed 5.7.1"),
            ("552 message too big\r\n", "failed 5.0.0"),
        ] {
            var client = Client()
            client.open(["PIPELINING"])
            client.give(message(to: ["a@example.test", "b@example.test"]))
            client.server("250 ok\r\n250 ok\r\n550 5.1.1 gone\r\n354 go\r\n")
            client.on(.contentEnd)
            let report = reports(client.server(reply)).first
            XCTAssertEqual(outcomes(report), [expected, "failed 5.1.1"], reply)
            XCTAssertEqual(report?.results.first?.text.hasSuffix("(in reply to end of DATA)"), true)
            // The end of data closes the transaction: no RSET next.
            XCTAssertTrue(sent(client.give(message(2))).hasPrefix("MAIL FROM:"), reply)
        }
    }

    func testDATACommandRefused() {
        var client = Client()
        client.open([])
        client.give(message(to: ["a@example.test"]))
        client.server("250 ok\r\n")
        client.server("250 ok\r\n")
        let actions = client.server("554 5.3.0 no DATA for you\r\n")
        XCTAssertEqual(outcomes(reports(actions).first), ["failed 5.3.0"])
        XCTAssertEqual(
            reports(actions).first?.results.first?.text,
            "host \(hostText) said: 554 5.3.0 no DATA for you (in reply to DATA)")
        XCTAssertEqual(sent(client.give(message(2))), "RSET\r\n")
    }

    func test421MidTransactionDefersTheRest() {
        var client = Client()
        client.open(["PIPELINING"])
        client.give(message(1, to: three))
        client.give(message(2))
        let actions = client.server("250 ok\r\n250 ok\r\n550 5.1.1 gone\r\n421 4.3.2 shutting down\r\n")
        XCTAssertEqual(sent(actions), "")
        let reported = reports(actions)
        XCTAssertEqual(reported.map(\.queueID), [queueID(1), queueID(2)])
        XCTAssertEqual(reported.map(\.attempted), [true, false])
        XCTAssertEqual(outcomes(reported.first), ["deferred 4.3.2", "failed 5.1.1", "deferred 4.3.2"])
        XCTAssertEqual(
            reported.first?.results[0].text,
            "host \(hostText) said: 421 4.3.2 shutting down (in reply to RCPT TO)")
        XCTAssertEqual(outcomes(reported.last), ["deferred 4.3.2"])
        XCTAssertEqual(failures(actions).map(\.status), ["4.3.2"])
        XCTAssertEqual(actions.last, .close)
        // The connection is gone: nothing more happens, late messages are
        // deferred with the same reason.
        XCTAssertEqual(client.server("250 ok\r\n"), [])
        XCTAssertEqual(client.on(.contentEnd), [])
        let late = client.give(message(3))
        XCTAssertEqual(reports(late).map(\.attempted), [false])
        XCTAssertEqual(late.count, 1)
        XCTAssertEqual(reports(late).first?.results.first?.text, reported.last?.results.first?.text)
    }

    func test421DuringData() {
        var client = Client()
        client.open(["PIPELINING"])
        client.give(message(to: ["a@example.test"]))
        client.server("250 ok\r\n250 ok\r\n354 go\r\n")
        client.content("some")
        let actions = client.server("421 4.4.2 idle too long\r\n")
        XCTAssertEqual(outcomes(reports(actions).first), ["deferred 4.4.2"])
        XCTAssertEqual(reports(actions).first?.results.first?.text, "host \(hostText) said: 421 4.4.2 idle too long")
        XCTAssertEqual(actions.last, .close)
        // The read that was outstanding is answered into nothing.
        XCTAssertEqual(client.content("more"), [])
    }

    func testConnectionReuseForThreeMessages() {
        var client = Client()
        for number in 1...3 { client.give(message(number, to: ["r\(number)@example.test"])) }
        client.on(.noMoreMessages)
        client.on(.connected)
        client.server("220 x\r\n")
        // The first message starts as soon as the session is ready.
        XCTAssertEqual(
            sent(client.server(ehloReply(["PIPELINING", "8BITMIME"]))),
            "MAIL FROM:<bob@example.org>\r\nRCPT TO:<r1@example.test>\r\nDATA\r\n")
        client.server("250 ok\r\n250 ok\r\n354 go\r\n")
        client.content("one\r\n")
        client.on(.contentEnd)
        var actions = client.server("250 ok 1\r\n")
        XCTAssertEqual(reports(actions).map(\.queueID), [queueID(1)])
        XCTAssertEqual(sent(actions), "MAIL FROM:<bob@example.org>\r\nRCPT TO:<r2@example.test>\r\nDATA\r\n")
        // The second is refused at RCPT, and so leaves a transaction open.
        actions = client.server("250 ok\r\n550 5.1.1 no\r\n554 5.5.1 no recipients\r\n")
        XCTAssertEqual(outcomes(reports(actions).first), ["failed 5.1.1"])
        XCTAssertEqual(sent(actions), "RSET\r\n")
        XCTAssertEqual(
            sent(client.server("250 ok\r\n")), "MAIL FROM:<bob@example.org>\r\nRCPT TO:<r3@example.test>\r\nDATA\r\n")
        client.server("250 ok\r\n250 ok\r\n354 go\r\n")
        client.on(.contentEnd)
        actions = client.server("250 ok 3\r\n")
        XCTAssertEqual(outcomes(reports(actions).first), ["delivered 2.0.0"])
        XCTAssertEqual(sent(actions), "QUIT\r\n")
        XCTAssertEqual(client.server("221 bye\r\n"), [.close])
        XCTAssertEqual(reports(client.history).map(\.queueID), [queueID(1), queueID(2), queueID(3)])
        XCTAssertEqual(failures(client.history), [])
    }

    func testRSETRefusedEndsTheConnection() {
        var client = Client()
        client.open([])
        client.give(message(1))
        client.server("250 ok\r\n")
        client.server("550 no\r\n")
        client.give(message(2))
        let actions = client.server("500 what\r\n")
        XCTAssertEqual(reports(actions).map(\.queueID), [queueID(2)])
        XCTAssertEqual(reports(actions).map(\.attempted), [false])
        XCTAssertEqual(actions.last, .close)
    }

    // MARK: - Refusals before sending

    func testEightBitMessageToAServerWithout8BITMIME() {
        var client = Client()
        client.open(["PIPELINING"])
        let actions = client.give(message(1, bodyType: .eightBitMIME))
        XCTAssertEqual(sent(actions), "")
        XCTAssertEqual(outcomes(reports(actions).first), ["failed 5.6.3"])
        XCTAssertEqual(
            reports(actions).first?.results.first?.text,
            "host \(hostText) does not support 8BITMIME, which this message needs (it is not converted to 7 bit)")
        // The connection stays usable for the next message.
        XCTAssertTrue(sent(client.give(message(2, bodyType: .sevenBit))).hasPrefix("MAIL FROM:<bob@example.org>\r\n"))
    }

    func testEightBitMessageAfterHELO() {
        var client = Client()
        client.on(.connected)
        client.server("220 x\r\n")
        client.server("502 no\r\n")
        client.server("250 x\r\n")
        XCTAssertEqual(outcomes(reports(client.give(message(bodyType: .eightBitMIME))).first), ["failed 5.6.3"])
    }

    func testSMTPUTF8MessageToAServerWithoutIt() {
        var client = Client()
        client.open(["8BITMIME"])
        XCTAssertEqual(outcomes(reports(client.give(message(1, smtputf8: true))).first), ["failed 5.6.7"])
        // An address that needs it counts even without the flag.
        let actions = client.give(message(2, to: ["jörg@example.test", "b@example.test"]))
        XCTAssertEqual(outcomes(reports(actions).first), ["failed 5.6.7", "failed 5.6.7"])
        XCTAssertEqual(sent(actions), "")
    }

    func testSizeOverTheServersLimit() {
        var client = Client()
        client.open(["SIZE 1000"])
        let actions = client.give(message(1, size: 1001))
        XCTAssertEqual(outcomes(reports(actions).first), ["failed 5.3.4"])
        XCTAssertEqual(
            reports(actions).first?.results.first?.text,
            "message size 1001 exceeds the size limit 1000 of host \(hostText)")
        XCTAssertEqual(sent(client.give(message(2, size: 1000))), "MAIL FROM:<bob@example.org> SIZE=1000\r\n")
    }

    func testUnsendableAddresses() {
        var client = Client()
        client.open(["PIPELINING"])
        let actions = client.give(message(to: ["a@example.test", "b>@example.test", "c@example.test"]))
        XCTAssertEqual(
            sent(actions),
            "MAIL FROM:<bob@example.org>\r\nRCPT TO:<a@example.test>\r\nRCPT TO:<c@example.test>\r\nDATA\r\n")
        client.server("250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n")
        client.on(.contentEnd)
        XCTAssertEqual(
            outcomes(reports(client.server("250 ok\r\n")).first),
            ["delivered 2.0.0", "failed 5.1.3", "delivered 2.0.0"])
        XCTAssertEqual(outcomes(reports(client.give(message(2, sender: "x\u{1B}@y"))).first), ["failed 5.1.7"])
    }

    func testMessageWithoutRecipients() {
        var client = Client()
        client.open([])
        let actions = client.give(message(to: []))
        XCTAssertEqual(reports(actions).map(\.results), [[]])
        XCTAssertEqual(sent(actions), "")
    }

    // MARK: - ESMTP parameters

    func testParametersWhenOffered() {
        var client = Client()
        client.open(["PIPELINING", "SIZE", "8BITMIME", "SMTPUTF8", "DSN"])
        let mail = message(
            sender: "bøb@example.org", to: ["a@example.test"], size: 42, bodyType: .eightBitMIME, dsnReturn: .headers,
            envelopeID: "id+1=2", notify: [.success, .failure], orcpt: "rfc822;a@example.test")
        let actions = client.give(mail)
        XCTAssertEqual(
            sent(actions),
            "MAIL FROM:<bøb@example.org> SIZE=42 BODY=8BITMIME SMTPUTF8 RET=HDRS ENVID=id+2B1+3D2\r\n"
                + "RCPT TO:<a@example.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;a@example.test\r\nDATA\r\n")
        client.server("250 ok\r\n250 ok\r\n354 go\r\n")
        client.on(.contentEnd)
        XCTAssertEqual(reports(client.server("250 ok\r\n")).first?.dsnPassedOn, true)
    }

    func testDSNParametersOnlyWhenOffered() {
        var client = Client()
        client.open(["PIPELINING", "8BITMIME"])
        let mail = message(
            to: ["a@example.test"], bodyType: .sevenBit, dsnReturn: .full, envelopeID: "id", notify: .never,
            orcpt: "rfc822;a@example.test")
        XCTAssertEqual(
            sent(client.give(mail)), "MAIL FROM:<bob@example.org> BODY=7BIT\r\nRCPT TO:<a@example.test>\r\nDATA\r\n")
    }

    func testNOTIFYNeverAndFULL() {
        var client = Client()
        client.open(["PIPELINING", "DSN"])
        let mail = message(to: ["a@example.test"], dsnReturn: .full, notify: .never)
        XCTAssertEqual(
            sent(client.give(mail)),
            "MAIL FROM:<bob@example.org> RET=FULL\r\nRCPT TO:<a@example.test> NOTIFY=NEVER\r\nDATA\r\n")
    }

    func testNullSender() {
        var client = Client()
        client.open([])
        XCTAssertEqual(sent(client.give(message(sender: ""))), "MAIL FROM:<>\r\n")
    }

    // MARK: - BDAT

    func testBDATWithPipelining() {
        var client = Client()
        client.open(["PIPELINING", "CHUNKING"])
        // No DATA in the batch: content only once a recipient is accepted.
        XCTAssertEqual(
            sent(client.give(message(to: ["a@example.test", "b@example.test"]))),
            "MAIL FROM:<bob@example.org>\r\nRCPT TO:<a@example.test>\r\nRCPT TO:<b@example.test>\r\n")
        XCTAssertEqual(client.server("250 ok\r\n250 ok\r\n250 ok\r\n"), [.readContent, .armTimer(seconds: 180)])
        XCTAssertEqual(client.content("Subject: x\r\n"), [.readContent, .armTimer(seconds: 180)])
        XCTAssertEqual(
            client.content(".body\n"),
            [.send(Array("BDAT 12\r\nSubject: x\r\n".utf8)), .readContent, .armTimer(seconds: 180)])
        XCTAssertEqual(
            client.on(.contentEnd), [.send(Array("BDAT 7 LAST\r\n.body\r\n".utf8)), .armTimer(seconds: 180)])
        XCTAssertEqual(client.server("250 2.0.0 12 octets\r\n"), [.armTimer(seconds: 600)])
        let report = reports(client.server("250 2.0.0 queued\r\n")).first
        XCTAssertEqual(outcomes(report), ["delivered 2.0.0", "delivered 2.0.0"])
        XCTAssertEqual(report?.results.first?.text, "host \(hostText) said: 250 2.0.0 queued (in reply to BDAT)")
    }

    func testBDATWithoutPipeliningWaitsForEachChunk() {
        var client = Client()
        client.open(["CHUNKING"])
        client.give(message(to: ["a@example.test"]))
        client.server("250 ok\r\n")
        XCTAssertEqual(client.server("250 ok\r\n"), [.readContent, .armTimer(seconds: 180)])
        client.content("one\r\n")
        XCTAssertEqual(client.content("two\r\n"), [.send(Array("BDAT 5\r\none\r\n".utf8)), .armTimer(seconds: 180)])
        XCTAssertEqual(client.server("250 ok\r\n"), [.readContent, .armTimer(seconds: 180)])
        XCTAssertEqual(sent(client.on(.contentEnd)), "BDAT 5 LAST\r\ntwo\r\n")
        XCTAssertEqual(outcomes(reports(client.server("250 ok\r\n")).first), ["delivered 2.0.0"])
    }

    func testBDATChunkRefusedStopsTheContent() {
        var client = Client()
        client.open(["PIPELINING", "CHUNKING"])
        client.give(message(to: ["a@example.test"]))
        client.server("250 ok\r\n250 ok\r\n")
        client.content("one\r\n")
        client.content("two\r\n")
        client.content("three\r\n")
        // Two chunks are out; the first is refused, the second answered 503.
        var actions = client.server("552 5.3.4 too big\r\n")
        XCTAssertEqual(reports(actions), [])
        actions = client.content("four\r\n")
        XCTAssertEqual(sent(actions), "")
        XCTAssertFalse(actions.contains(.readContent))
        actions = client.server("503 5.5.1 no\r\n")
        XCTAssertEqual(outcomes(reports(actions).first), ["failed 5.3.4"])
        XCTAssertEqual(sent(client.give(message(2))), "RSET\r\n")
    }

    func testBDATRefusedWhileAReadIsOutstanding() {
        var client = Client()
        client.open(["PIPELINING", "CHUNKING"])
        client.give(message(1, to: ["a@example.test"]))
        client.server("250 ok\r\n250 ok\r\n")
        client.content("one\r\n")
        client.content("two\r\n")
        let actions = client.server("451 4.3.0 disk full\r\n")
        XCTAssertEqual(outcomes(reports(actions).first), ["deferred 4.3.0"])
        XCTAssertEqual(sent(client.give(message(2))), "RSET\r\n")
        client.server("250 ok\r\n")
        // The read for message 2 waits for the answer to message 1's.
        XCTAssertFalse(client.server("250 ok\r\n250 ok\r\n").contains(.readContent))
        XCTAssertEqual(client.content("stale"), [.readContent])
        XCTAssertEqual(client.content("fresh\r\n"), [.readContent, .armTimer(seconds: 180)])
        XCTAssertEqual(sent(client.on(.contentEnd)), "BDAT 7 LAST\r\nfresh\r\n")
    }
}
