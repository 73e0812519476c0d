import XCTest

@testable import SMTPProtocol

/// `.checkSender` / `senderChecked`, and DISCARD verdicts for senders and
/// recipients.
final class SenderPolicyTests: XCTestCase {
    private let senderOk = Event.reply("250 2.1.0 Ok\r\n")
    private let recipientOk = Event.reply("250 2.1.5 Ok\r\n")
    private let goAhead = Event.reply("354 End data with <CR><LF>.<CR><LF>\r\n")

    private func greeted(_ settings: SMTPServerSettings = .test()) -> Session {
        var session = Session(settings)
        session.autoAcceptSenders = false
        _ = session.start()
        _ = session.send("EHLO client.example.org\r\n")
        return session
    }

    func testValidMailAsksTheLookup() {
        var session = greeted()
        XCTAssertEqual(session.send("MAIL FROM:<bob@example.org>\r\n"), [.checkSender("bob@example.org")])
        XCTAssertTrue(session.machine.isWaiting)
        XCTAssertEqual(session.sender(.accept), [senderOk])
        XCTAssertFalse(session.machine.isWaiting)
        XCTAssertEqual(session.send("RCPT TO:<a@example.test>\r\n"), [.check("a@example.test")])
    }

    func testNullSenderIsAskedAboutToo() {
        var session = greeted()
        XCTAssertEqual(session.send("MAIL FROM:<>\r\n"), [.checkSender("")])
    }

    /// Syntax, parameters and SIZE are checked first: a refused MAIL never
    /// costs a lookup.
    func testNoLookupForAMailRefusedOnItsOwn() {
        var session = greeted(.test(maxMessageSize: 100))
        XCTAssertEqual(
            session.send("MAIL FROM:<bob@example.org> SIZE=101\r\n"),
            [.reply("552 5.3.4 Message size exceeds fixed limit\r\n")])
        XCTAssertEqual(session.send("MAIL FROM:bob\r\n"), [.reply("501 5.1.7 Bad sender address syntax\r\n")])
        XCTAssertEqual(
            session.send("MAIL FROM:<bob@example.org> XFOO\r\n"), [.reply("555 5.5.4 Unsupported option: XFOO\r\n")])
        XCTAssertFalse(session.machine.isWaiting)
    }

    func testRejectedSenderStartsNoTransactionAndCounts() {
        var session = greeted(.test(maxErrors: 2))
        _ = session.send("MAIL FROM:<spam@example.org>\r\nRCPT TO:<a@example.test>\r\n")
        let refusal = SMTPReply(code: 550, enhanced: "5.7.1", text: "Access denied")
        // The pipelined RCPT waited for the verdict, and finds no transaction.
        XCTAssertEqual(
            session.sender(.reject(refusal)),
            [
                .reply("550 5.7.1 Access denied\r\n"),
                .reply("503 5.5.1 Error: need MAIL command\r\n"),
                .reply("421 4.7.0 mx.example.test Error: too many errors\r\n"), .close,
            ])
    }

    func testPipelinedTransactionWaitsForTheSenderVerdict() {
        var session = greeted()
        XCTAssertEqual(
            session.send("MAIL FROM:<bob@example.org>\r\nRCPT TO:<a@example.test>\r\nDATA\r\n"),
            [.checkSender("bob@example.org")])
        XCTAssertEqual(session.sender(.accept), [senderOk, .check("a@example.test")])
        XCTAssertEqual(session.accept("a"), [recipientOk, .open])
    }

    func testTemporaryRejection() {
        var session = greeted()
        _ = session.send("MAIL FROM:<bob@example.org>\r\n")
        let later = SMTPReply(code: 451, enhanced: "4.3.0", text: "Temporary lookup failure, try again later")
        XCTAssertEqual(
            session.sender(.reject(later)), [.reply("451 4.3.0 Temporary lookup failure, try again later\r\n")])
        XCTAssertEqual(session.send("MAIL FROM:<bob@example.org>\r\n"), [.checkSender("bob@example.org")])
    }

    func testVerdictsNobodyAskedForAreIgnored() {
        var session = greeted()
        XCTAssertEqual(session.sender(.accept), [])
        XCTAssertEqual(session.discardRecipient(), [])
        _ = session.send("MAIL FROM:<bob@example.org>\r\n")
        XCTAssertEqual(session.timedOut(), [.reply("421 4.4.2 mx.example.test Error: timeout exceeded\r\n"), .close])
        XCTAssertEqual(session.sender(.accept), [])
    }

    // MARK: - DISCARD

    /// Runs a whole DATA transaction and returns the events from the
    /// message on.
    private func transaction(
        senderVerdict: SenderVerdict, recipientVerdicts: [RecipientVerdict], body: String = "Subject: x\r\n\r\nhi\r\n"
    ) -> (session: Session, events: [Event]) {
        var session = greeted()
        XCTAssertEqual(session.send("MAIL FROM:<bob@example.org>\r\n"), [.checkSender("bob@example.org")])
        XCTAssertEqual(session.sender(senderVerdict), [senderOk])
        for (index, verdict) in recipientVerdicts.enumerated() {
            _ = session.send("RCPT TO:<r\(index)@example.test>\r\n")
            XCTAssertEqual(session.machine.recipientChecked(verdict).map(Event.init), [recipientOk])
        }
        XCTAssertEqual(session.send("DATA\r\n"), [.open])
        XCTAssertEqual(session.opened("QID").first, goAhead)
        let events = session.send(body + ".\r\n")
        return (session, events)
    }

    func testDiscardedSenderLooksAcceptedButNothingIsCommitted() {
        var (session, events) = transaction(senderVerdict: .discard, recipientVerdicts: [.accept(localUser: "a")])
        XCTAssertEqual(withoutWrites(events), [.abort, .reply("250 2.0.0 Ok: queued as QID\r\n")])
        XCTAssertFalse(session.machine.isWaiting)
        // The next transaction is not discarded.
        XCTAssertEqual(session.send("MAIL FROM:<bob@example.org>\r\n"), [.checkSender("bob@example.org")])
        XCTAssertEqual(session.sender(.accept), [senderOk])
        _ = session.send("RCPT TO:<a@example.test>\r\n")
        _ = session.accept("a")
        _ = session.send("DATA\r\n")
        _ = session.opened("QID2")
        XCTAssertEqual(commits(session.send("Subject: y\r\n\r\n.\r\n")).count, 1)
    }

    /// Sendmail's DISCARD on a `To:` entry throws the whole message away.
    func testDiscardedRecipientDiscardsTheMessage() {
        let (_, events) = transaction(
            senderVerdict: .accept, recipientVerdicts: [.accept(localUser: "a"), .discard, .accept(localUser: "c")])
        XCTAssertEqual(commits(events), [])
        XCTAssertEqual(withoutWrites(events), [.abort, .reply("250 2.0.0 Ok: queued as QID\r\n")])
    }

    func testDiscardedRecipientAloneIsEnoughForData() {
        let (_, events) = transaction(senderVerdict: .accept, recipientVerdicts: [.discard])
        XCTAssertEqual(withoutWrites(events), [.abort, .reply("250 2.0.0 Ok: queued as QID\r\n")])
    }

    func testDiscardedRecipientsCountTowardsTheLimit() {
        var session = greeted(.test(maxRecipients: 1))
        _ = session.send("MAIL FROM:<bob@example.org>\r\n")
        _ = session.sender(.accept)
        _ = session.send("RCPT TO:<a@example.test>\r\n")
        XCTAssertEqual(session.discardRecipient(), [recipientOk])
        XCTAssertEqual(session.send("RCPT TO:<b@example.test>\r\n"), [.reply("452 4.5.3 Too many recipients\r\n")])
    }

    /// A message that would be refused is refused, discarded or not.
    func testDiscardedMessageIsStillRefusedWhenBroken() {
        let (_, events) = transaction(
            senderVerdict: .discard, recipientVerdicts: [.accept(localUser: "a")],
            body: "Subject: x\r\n\r\nhi\nthere\r\n")
        XCTAssertEqual(withoutWrites(events), [.abort, .reply("550 5.6.11 Message contains bare CR or bare LF\r\n")])
    }

    func testDiscardWithBdat() {
        var session = greeted()
        _ = session.send("MAIL FROM:<bob@example.org>\r\n")
        _ = session.sender(.discard)
        _ = session.send("RCPT TO:<a@example.test>\r\n")
        _ = session.accept("a")
        XCTAssertEqual(session.send("BDAT 14 LAST\r\nSubject: x\r\n\r\n"), [.open])
        let events = session.opened("QID")
        XCTAssertEqual(withoutWrites(events), [.abort, .reply("250 2.0.0 Ok: queued as QID\r\n")])
        XCTAssertEqual(commits(events), [])
    }
}
