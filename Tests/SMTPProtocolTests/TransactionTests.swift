import XCTest

@testable import SMTPProtocol

final class TransactionTests: XCTestCase {
    func testGreetingHasNoEnhancedCode() {
        var session = Session()
        XCTAssertEqual(session.start(), [.reply("220 mx.example.test ESMTP\r\n")])
    }

    func testEhloAdvertisesExactlyTheImplementedExtensions() {
        var session = Session(.test(maxMessageSize: 1_000_000))
        _ = session.start()
        XCTAssertEqual(
            session.send("EHLO client.example.org\r\n"),
            [
                .reply(
                    "250-mx.example.test\r\n250-PIPELINING\r\n250-SIZE 1000000\r\n250-8BITMIME\r\n"
                        + "250-ENHANCEDSTATUSCODES\r\n250-SMTPUTF8\r\n250-DSN\r\n250 CHUNKING\r\n")
            ])
    }

    func testHeloReplyIsTheHostname() {
        var session = Session()
        _ = session.start()
        XCTAssertEqual(session.send("HELO client.example.org\r\n"), [.reply("250 mx.example.test\r\n")])
    }

    func testFullTransaction() {
        var session = Session()
        XCTAssertEqual(session.start(), [.reply("220 mx.example.test ESMTP\r\n")])
        XCTAssertEqual(session.send("EHLO client.example.org\r\n").count, 1)
        XCTAssertEqual(session.send("MAIL FROM:<bob@example.org> SIZE=100\r\n"), [.reply("250 2.1.0 Ok\r\n")])
        XCTAssertEqual(session.send("RCPT TO:<alice@example.test>\r\n"), [.check("alice@example.test")])
        XCTAssertTrue(session.machine.isWaiting)
        XCTAssertEqual(session.accept("alice"), [.reply("250 2.1.5 Ok\r\n")])
        XCTAssertFalse(session.machine.isWaiting)
        XCTAssertEqual(session.send("DATA\r\n"), [.open])
        XCTAssertTrue(session.machine.isWaiting)
        XCTAssertEqual(
            session.opened("7Q3K9ABCDEFG"),
            [
                .reply("354 End data with <CR><LF>.<CR><LF>\r\n"),
                .written(receivedHeader(recipient: "alice@example.test")),
            ])
        let content = "Subject: hello\r\n\r\nHi Alice.\r\n"
        let header = receivedHeader(recipient: "alice@example.test")
        XCTAssertEqual(
            session.send(content + ".\r\n"),
            [
                .written(content),
                .commit(
                    AcceptedMessage(
                        sender: "bob@example.org",
                        recipients: [AcceptedRecipient(address: "alice@example.test", localUser: "alice")],
                        helo: "client.example.org", size: header.utf8.count + content.utf8.count)),
            ])
        XCTAssertTrue(session.machine.isWaiting)
        XCTAssertEqual(session.committed(), [.reply("250 2.0.0 Ok: queued as 7Q3K9ABCDEFG\r\n")])
        XCTAssertEqual(session.send("QUIT\r\n"), [.reply("221 2.0.0 Bye\r\n"), .close])
        XCTAssertTrue(session.machine.isClosed)
        XCTAssertEqual(session.send("NOOP\r\n"), [])
    }

    func testTransactionResetsAfterCommitButGreetingStays() {
        var session = Session()
        session.openMessage()
        _ = session.send(".\r\n")
        _ = session.committed()
        XCTAssertEqual(
            session.send("RCPT TO:<alice@example.test>\r\n"), [.reply("503 5.5.1 Error: need MAIL command\r\n")])
        XCTAssertEqual(session.send("MAIL FROM:<bob@example.org>\r\n"), [.reply("250 2.1.0 Ok\r\n")])
    }

    func testCommitFailureSendsTheQueueReplyAndResets() {
        var session = Session()
        session.openMessage()
        _ = session.send("x\r\n.\r\n")
        let failure = SMTPReply(code: 451, enhanced: "4.3.0", text: "Error: queue file write error")
        XCTAssertEqual(
            session.machine.messageCommitted(.failure(failure)).map(Event.init),
            [.reply("451 4.3.0 Error: queue file write error\r\n")])
        XCTAssertEqual(session.send("DATA\r\n"), [.reply("503 5.5.1 Error: need RCPT command\r\n")])
    }

    func testOpenFailureRepliesTransientlyAndResetsTheTransaction() {
        var session = Session()
        _ = session.start()
        _ = session.send("EHLO client.example.org\r\nMAIL FROM:<bob@example.org>\r\nRCPT TO:<a@example.test>\r\n")
        _ = session.accept("a")
        XCTAssertEqual(session.send("DATA\r\n"), [.open])
        XCTAssertEqual(session.opened(nil), [.reply("451 4.3.0 Error: queue file write error\r\n")])
        XCTAssertFalse(session.machine.isWaiting)
        XCTAssertEqual(session.send("RCPT TO:<a@example.test>\r\n"), [.reply("503 5.5.1 Error: need MAIL command\r\n")])
    }

    func testPipelinedTransactionInOneWriteAnswersInCommandOrder() {
        var session = Session()
        _ = session.start()
        let events = session.send(
            "EHLO client.example.org\r\nMAIL FROM:<bob@example.org>\r\nRCPT TO:<a@example.test>\r\n"
                + "RCPT TO:<b@example.test>\r\nRCPT TO:<c@example.test>\r\nDATA\r\n")
        XCTAssertEqual(events.count, 3)
        XCTAssertEqual(Array(events.dropFirst()), [.reply("250 2.1.0 Ok\r\n"), .check("a@example.test")])
        XCTAssertTrue(session.machine.isWaiting)
        XCTAssertEqual(session.accept("a"), [.reply("250 2.1.5 Ok\r\n"), .check("b@example.test")])
        let unknown = SMTPReply(
            code: 550, enhanced: "5.1.1", text: "<b@example.test>: Recipient address rejected: User unknown")
        XCTAssertEqual(
            session.reject(unknown),
            [
                .reply("550 5.1.1 <b@example.test>: Recipient address rejected: User unknown\r\n"),
                .check("c@example.test"),
            ])
        XCTAssertEqual(session.accept("c"), [.reply("250 2.1.5 Ok\r\n"), .open])
        XCTAssertEqual(
            session.opened("7Q3K9ABCDEFG"),
            [.reply("354 End data with <CR><LF>.<CR><LF>\r\n"), .written(receivedHeader(recipient: nil))])
        guard case .commit(let message)? = session.send("Subject: x\r\n\r\n.\r\n").last else {
            return XCTFail("no commit")
        }
        XCTAssertEqual(
            message.recipients,
            [
                AcceptedRecipient(address: "a@example.test", localUser: "a"),
                AcceptedRecipient(address: "c@example.test", localUser: "c"),
            ])
    }

    func testInputArrivingWhileWaitingIsHeldAndRepliedToInOrder() {
        var session = Session()
        _ = session.start()
        _ = session.send("EHLO client.example.org\r\nMAIL FROM:<bob@example.org>\r\n")
        XCTAssertEqual(session.send("RCPT TO:<a@example.test>\r\nRCPT TO:<b@exa"), [.check("a@example.test")])
        XCTAssertEqual(session.send("mple.test>\r\nNOOP\r\n"), [])
        XCTAssertEqual(session.accept("a"), [.reply("250 2.1.5 Ok\r\n"), .check("b@example.test")])
        XCTAssertEqual(session.accept("b"), [.reply("250 2.1.5 Ok\r\n"), .reply("250 2.0.0 Ok\r\n")])
    }

    func testCommandsPipelinedAfterEndOfDataWaitForTheCommit() {
        var session = Session()
        session.openMessage()
        let events = session.send(
            "Subject: x\r\n\r\nbody\r\n.\r\nMAIL FROM:<bob@example.org>\r\nRCPT TO:<a@example.test>\r\n")
        XCTAssertEqual(events.count, 2)
        XCTAssertEqual(events.first, .written("Subject: x\r\n\r\nbody\r\n"))
        XCTAssertEqual(
            session.committed(),
            [.reply("250 2.0.0 Ok: queued as 7Q3K9ABCDEFG\r\n"), .reply("250 2.1.0 Ok\r\n"), .check("a@example.test")])
    }

    func testBytesAfterDataBeforeTheGoAheadAreASynchronizationError() {
        var session = Session()
        _ = session.start()
        _ = session.send("EHLO client.example.org\r\nMAIL FROM:<bob@example.org>\r\nRCPT TO:<a@example.test>\r\n")
        _ = session.accept("a")
        XCTAssertEqual(session.send("DATA\r\nRCPT TO:<evil@example.test>\r\n"), [.open])
        XCTAssertEqual(
            session.opened("7Q3K9ABCDEFG"),
            [.abort, .reply("554 5.5.0 Error: SMTP protocol synchronization\r\n"), .close])
    }

    func testEarlyDataIsNotRunAsCommandsWhenTheOpenFails() {
        var session = Session()
        _ = session.start()
        _ = session.send("EHLO client.example.org\r\nMAIL FROM:<bob@example.org>\r\nRCPT TO:<a@example.test>\r\n")
        _ = session.accept("a")
        XCTAssertEqual(session.send("DATA\r\n"), [.open])
        XCTAssertEqual(session.send("MAIL FROM:<x@example.org>\r\n"), [])
        XCTAssertEqual(session.opened(nil), [.reply("554 5.5.0 Error: SMTP protocol synchronization\r\n"), .close])
    }

    func testPendingInputIsBounded() {
        var session = Session(.test(maxPendingInput: 1024))
        _ = session.start()
        _ = session.send("EHLO client.example.org\r\nMAIL FROM:<bob@example.org>\r\n")
        XCTAssertEqual(session.send("RCPT TO:<a@example.test>\r\n"), [.check("a@example.test")])
        XCTAssertEqual(session.send(String(repeating: "NOOP\r\n", count: 170)), [])
        XCTAssertEqual(
            session.send("NOOP\r\nNOOP\r\n"),
            [.reply("421 4.7.0 mx.example.test Error: too much pipelined input\r\n"), .close])
        XCTAssertEqual(session.accept("a"), [])
    }

    func testReceivedHeaderSaysSMTPAfterHeloAndUsesAnIPv6Literal() {
        var session = Session(client: "2001:db8::25")
        _ = session.start()
        _ = session.send("HELO [192.0.2.7]\r\nMAIL FROM:<>\r\nRCPT TO:<a@example.test>\r\n")
        _ = session.accept("a")
        _ = session.send("DATA\r\n")
        XCTAssertEqual(
            session.opened("QID"),
            [
                .reply("354 End data with <CR><LF>.<CR><LF>\r\n"),
                .written(
                    "Received: from [192.0.2.7] ([IPv6:2001:db8::25])\r\n"
                        + "\tby mx.example.test (Postern) with SMTP id QID\r\n"
                        + "\tfor <a@example.test>; \(testDate)\r\n"),
            ])
    }

    func testNullSenderIsCommittedAsEmptyString() {
        var session = Session()
        session.openMessage(sender: "")
        guard case .commit(let message)? = session.send(".\r\n").last else { return XCTFail("no commit") }
        XCTAssertEqual(message.sender, "")
    }

    func testBodyParameterIsPassedToTheQueue() {
        var session = Session()
        _ = session.start()
        _ = session.send("EHLO client.example.org\r\nMAIL FROM:<bob@example.org> BODY=8bitmime\r\n")
        _ = session.send("RCPT TO:<a@example.test>\r\n")
        _ = session.accept("a")
        _ = session.send("DATA\r\n")
        _ = session.opened("QID")
        guard case .commit(let message)? = session.send(".\r\n").last else { return XCTFail("no commit") }
        XCTAssertEqual(message.body, .eightBitMIME)
    }

    func testPostmasterWithoutDomainIsAccepted() {
        var session = Session()
        _ = session.start()
        _ = session.send("HELO client.example.org\r\nMAIL FROM:<bob@example.org>\r\n")
        XCTAssertEqual(session.send("RCPT TO:<Postmaster>\r\n"), [.check("Postmaster")])
    }
}
