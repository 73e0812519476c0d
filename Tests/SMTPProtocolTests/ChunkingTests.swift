import XCTest

@testable import SMTPProtocol

/// RFC 3030 CHUNKING: BDAT chunks are counted, not parsed; the message goes
/// through the same header stage as DATA.
final class ChunkingTests: XCTestCase {
    private let message = "Subject: chunks\r\n\r\nbody\r\n"

    private func queued(_ id: String = "QID") -> Event { .reply("250 2.0.0 Ok: queued as \(id)\r\n") }
    private func octets(_ count: Int) -> Event { .reply("250 2.0.0 \(count) octets received\r\n") }

    func testSingleLastChunk() {
        var session = Session()
        session.envelope()
        XCTAssertEqual(session.send("BDAT \(message.utf8.count) LAST\r\n" + message), [.open])
        XCTAssertTrue(session.machine.isWaiting)
        let events = session.opened("QID")
        let header = receivedHeader(recipient: "alice@example.test", queueID: "QID")
        XCTAssertEqual(text(spool(events)), header + message)
        XCTAssertEqual(
            withoutWrites(events),
            [
                .commit(
                    AcceptedMessage(
                        sender: "bob@example.org",
                        recipients: [AcceptedRecipient(address: "alice@example.test", localUser: "user")],
                        helo: "client.example.org", size: header.utf8.count + message.utf8.count))
            ])
        XCTAssertEqual(session.committed(), [queued()])
        XCTAssertFalse(session.machine.isWaiting)
    }

    func testSeveralChunks() {
        var session = Session()
        session.envelope()
        XCTAssertEqual(session.send("BDAT 10\r\nSubject: c"), [.open])
        var events = session.opened("QID")
        XCTAssertEqual(withoutWrites(events), [octets(10)])
        events += session.send("BDAT 9\r\nhunks\r\n\r\n")
        XCTAssertEqual(withoutWrites(events).last, octets(9))
        events += session.send("BDAT 0\r\n")
        events += session.send("BDAT 6 LAST\r\nbody\r\n")
        XCTAssertEqual(Array(withoutWrites(events).prefix(3)), [octets(10), octets(9), octets(0)])
        XCTAssertEqual(withoutWrites(events).count, 4)
        XCTAssertEqual(commits(events).count, 1)
        XCTAssertEqual(text(spool(events)), receivedHeader(recipient: "alice@example.test", queueID: "QID") + message)
        XCTAssertEqual(session.committed(), [queued()])
    }

    func testEmptyLastChunk() {
        var session = Session()
        session.envelope()
        XCTAssertEqual(session.send("BDAT 0 LAST\r\n"), [.open])
        let events = session.opened("QID")
        XCTAssertEqual(text(spool(events)), receivedHeader(recipient: "alice@example.test", queueID: "QID"))
        XCTAssertEqual(commits(events).count, 1)

        session = Session()
        session.envelope()
        _ = session.send("BDAT \(message.utf8.count)\r\n")
        XCTAssertEqual(withoutWrites(session.opened("QID")), [])
        XCTAssertEqual(withoutWrites(session.send(message)), [octets(message.utf8.count)])
        XCTAssertEqual(commits(session.send("bdat 0 last\r\n")).count, 1)
    }

    /// Chunk bytes are not commands: CRLF.CRLF and command lines inside a
    /// chunk are just content, stored as sent.
    func testChunkContentIsNeverParsed() {
        let content = "Subject: raw\r\n\r\nx\r\n.\r\nMAIL FROM:<evil@example.org>\r\n..dots\r\n"
        var session = Session()
        session.envelope()
        session.autoAcceptSenders = false
        _ = session.send("BDAT \(content.utf8.count) LAST\r\n" + content)
        let events = session.opened("QID")
        XCTAssertEqual(withoutWrites(events).count, 1)
        XCTAssertEqual(commits(events).count, 1)
        XCTAssertEqual(text(spool(events)), receivedHeader(recipient: "alice@example.test", queueID: "QID") + content)
    }

    /// BDAT refuses what DATA refuses: a bare CR or LF anywhere in the
    /// message, or a NUL (otherwise BDAT would be the way around the
    /// smuggling defence), including a CR that ends the last chunk.
    func testBareLineEndingsAndNulInChunksAreRefused() {
        let bare = "550 5.6.11 Message contains bare CR or bare LF\r\n"
        let nul = "554 5.6.0 Message contains NUL character\r\n"
        for (chunks, reply) in [
            (["Subject: a\r\n\r\nbare\nlf\r\n"], bare), (["Subject: a\r\n\r\nbare\rcr\r\n"], bare),
            (["Subject: a\r\n\r\nnul\0\r\n"], nul), (["Subject: a\r\n\r\nends with CR\r", ""], bare),
            (["Subject: a\r\n\r\nx\r", "x\r\n"], bare), (["Subject: a\r\n\r\nx\n", ".\r\n"], bare),
        ] {
            var session = Session()
            session.envelope()
            var events: [Event] = []
            for (index, chunk) in chunks.enumerated() {
                let last = index == chunks.count - 1 ? " LAST" : ""
                events += session.send("BDAT \(chunk.utf8.count)\(last)\r\n" + chunk)
                if index == 0 { events = session.opened("QID") }
            }
            XCTAssertEqual(withoutWrites(events).last, .reply(reply), "\(chunks)")
            XCTAssertTrue(withoutWrites(events).contains(.abort), "\(chunks)")
            XCTAssertEqual(commits(events).count, 0, "\(chunks)")
        }
    }

    /// A CR LF split across two chunks is one line ending.
    func testLineEndingSplitAcrossChunks() {
        var session = Session()
        session.envelope()
        _ = session.send("BDAT 11\r\nSubject: a\r")
        XCTAssertEqual(withoutWrites(session.opened("QID")), [octets(11)])
        let events = session.send("BDAT 9 LAST\r\n\n\r\nbody\r\n")
        XCTAssertEqual(commits(events).count, 1)
        XCTAssertTrue(text(spool(events)).hasSuffix("Subject: a\r\n\r\nbody\r\n"))
    }

    /// With `BareLineEndings normalize`, BDAT content is stored with CR LF
    /// line endings, as DATA's is.
    func testNormalizingChunks() {
        var session = Session(.test(bareLineEndings: .normalize))
        session.envelope()
        let content = "Subject: a\n\nbare\nlf\rcr\r"
        _ = session.send("BDAT \(content.utf8.count) LAST\r\n" + content)
        let events = session.opened("QID")
        XCTAssertEqual(commits(events).count, 1)
        XCTAssertTrue(text(spool(events)).hasSuffix("Subject: a\r\n\r\nbare\r\nlf\r\ncr\r\n"), text(spool(events)))
    }

    /// The whole session fed one byte per call gives the same conversation
    /// and the same spool as one write.
    func testByteByByteEqualsOneWrite() {
        let script = Array(
            ("EHLO client.example.org\r\nMAIL FROM:<bob@example.org>\r\nRCPT TO:<alice@example.test>\r\n"
                + "BDAT 12\r\n").utf8)
        let rest = Array("Subject: a\r\nBDAT 13\r\n\r\nline\r\n.\r\nxyBDAT 0 LAST\r\nQUIT\r\n".utf8)

        func run(_ feed: (inout Session, [UInt8]) -> [Event]) -> [Event] {
            var session = Session()
            var log = session.start()
            log += feed(&session, script)
            log += session.accept("alice")
            log += session.opened("QID")
            log += feed(&session, rest)
            log += session.committed()
            return log
        }
        let whole = run { session, bytes in session.send(bytes: bytes) }
        let trickled = run { session, bytes in session.trickle(bytes) }
        XCTAssertEqual(spool(trickled), spool(whole))
        XCTAssertEqual(withoutWrites(trickled), withoutWrites(whole))
        XCTAssertEqual(
            text(spool(whole)),
            receivedHeader(recipient: "alice@example.test", queueID: "QID")
                + "Subject: a\r\n\r\nline\r\n.\r\nxy")
        XCTAssertEqual(commits(whole).count, 1)
        XCTAssertEqual(
            withoutWrites(whole).filter { commits([$0]).isEmpty }.suffix(5),
            [octets(12), octets(13), queued(), .reply("221 2.0.0 Bye\r\n"), .close])
    }

    /// A BDAT, its chunk and the next command in one read.
    func testPipelinedCommandAfterTheChunk() {
        var session = Session()
        session.envelope()
        _ = session.send("BDAT 3\r\nabc")
        _ = session.opened("QID")
        let events = session.send("BDAT 2\r\nde" + "BDAT 4 LAST\r\n\r\nfgNOOP\r\n")
        XCTAssertEqual(withoutWrites(events).count, 2)
        XCTAssertEqual(withoutWrites(events).first, octets(2))
        XCTAssertEqual(session.committed(), [queued(), .reply("250 2.0.0 Ok\r\n")])
    }

    /// Chunk bytes sent before the spool file is open are held and used.
    func testChunkBytesArrivingBeforeTheOpenAreKept() {
        var session = Session()
        session.envelope()
        XCTAssertEqual(session.send("BDAT 25 LAST\r\nSubject: chu"), [.open])
        XCTAssertEqual(session.send("nks\r\n\r\nbo"), [])
        XCTAssertEqual(session.machine.currentTimeout, 180)
        var events = session.opened("QID")
        XCTAssertEqual(commits(events), [])
        events += session.send("dy\r\n")
        XCTAssertEqual(commits(events).count, 1)
        XCTAssertEqual(text(spool(events)), receivedHeader(recipient: "alice@example.test", queueID: "QID") + message)
    }

    /// Chunk bytes held while the spool file opens count against
    /// `maxPendingInput` like any input held during a wait (the I/O layer
    /// stops reading meanwhile); the late spool file is then discarded.
    func testChunkBytesBeforeTheOpenAreBounded() {
        var session = Session(.test(maxPendingInput: 100))
        session.envelope()
        XCTAssertEqual(session.send("BDAT 500 LAST\r\n" + String(repeating: "x", count: 90)), [.open])
        XCTAssertEqual(
            session.send(String(repeating: "x", count: 20)),
            [.reply("421 4.7.0 mx.example.test Error: too much pipelined input\r\n"), .close])
        XCTAssertEqual(session.opened("QID"), [.abort])
    }

    func testSizeLimitAcrossChunks() {
        var session = Session(.test(maxMessageSize: 30))
        session.envelope()
        _ = session.send("BDAT 20\r\n" + "Subject: s\r\n\r\n123456")
        XCTAssertEqual(withoutWrites(session.opened("QID")), [octets(20)])
        // 20 + 15 > 30: the chunk is read to its end, then refused; the
        // pipelined last chunk is skipped, not run as commands.
        let events = session.send(
            "BDAT 15\r\n" + String(repeating: "x", count: 15) + "BDAT 6 LAST\r\nNOOP\r\n" + "NOOP\r\n")
        XCTAssertEqual(
            withoutWrites(events),
            [
                .abort, .reply("552 5.3.4 Message size exceeds fixed limit\r\n"),
                .reply("503 5.5.1 Error: need MAIL command\r\n"), .reply("250 2.0.0 Ok\r\n"),
            ])
        XCTAssertEqual(spool(events), [])
    }

    func testSizeLimitInTheLastChunk() {
        var session = Session(.test(maxMessageSize: 10))
        session.envelope()
        _ = session.send("BDAT 11 LAST\r\n" + "Subject: s\r\n")
        XCTAssertEqual(
            withoutWrites(session.opened("QID")), [.abort, .reply("552 5.3.4 Message size exceeds fixed limit\r\n")])
    }

    func testBdatAndDataDoNotMix() {
        var session = Session()
        session.envelope()
        _ = session.send("BDAT 3\r\nabc")
        _ = session.opened("QID")
        XCTAssertEqual(session.send("DATA\r\n"), [.reply("503 5.5.1 Error: DATA after BDAT\r\n")])
        XCTAssertEqual(session.send("RCPT TO:<b@example.test>\r\n"), [.reply("503 5.5.1 Error: RCPT after BDAT\r\n")])
        XCTAssertEqual(session.send("MAIL FROM:<b@example.org>\r\n"), [.reply("503 5.5.1 Error: MAIL after BDAT\r\n")])
        // The transaction goes on with BDAT.
        let events = session.send("BDAT 0 LAST\r\n")
        XCTAssertEqual(commits(events).count, 1)
        XCTAssertEqual(text(spool(events)), "\r\nabc")
    }

    func testBdatBeforeMailOrRcptSkipsTheChunk() {
        var session = Session()
        _ = session.start()
        _ = session.send("EHLO client.example.org\r\n")
        XCTAssertEqual(session.send("BDAT 6\r\nQUIT\r\n"), [.reply("503 5.5.1 Error: need MAIL command\r\n")])
        _ = session.send("MAIL FROM:<bob@example.org>\r\n")
        XCTAssertEqual(session.send("BDAT 6 LAST\r\nQUIT\r\n"), [.reply("503 5.5.1 Error: need RCPT command\r\n")])
        _ = session.send("RCPT TO:<x@example.test>\r\n")
        _ = session.reject(SMTPReply(code: 550, enhanced: "5.1.1", text: "User unknown"))
        // A chunk split over several reads is skipped to its end.
        XCTAssertEqual(session.send("BDAT 12\r\nQUIT"), [.reply("554 5.5.1 Error: no valid recipients\r\n")])
        XCTAssertEqual(session.machine.currentTimeout, 180)
        XCTAssertEqual(session.send("\r\nQUIT\r\n"), [])
        XCTAssertEqual(session.send("NOOP\r\n"), [.reply("250 2.0.0 Ok\r\n")])
        XCTAssertFalse(session.machine.isClosed)
    }

    func testMalformedBdatClosesTheSession() {
        for line in [
            "BDAT", "BDAT x", "BDAT -1", "BDAT 5 NOW", "BDAT 5 LAST more", "BDAT 1234567890123456789", "BDAT  5",
        ] {
            var session = Session()
            session.envelope()
            XCTAssertEqual(
                session.send(line + "\r\nNOOP\r\n"), [.reply("501 5.5.4 Syntax: BDAT count [LAST]\r\n"), .close], line)
        }
    }

    func testOpenFailureSkipsTheChunk() {
        var session = Session()
        session.envelope()
        XCTAssertEqual(session.send("BDAT 6 LAST\r\nQUIT\r\nNOOP\r\n"), [.open])
        XCTAssertEqual(
            session.opened(nil), [.reply("451 4.3.0 Error: queue file write error\r\n"), .reply("250 2.0.0 Ok\r\n")])
    }

    func testRsetQuitAndTimeoutAbortTheSpoolFile() {
        var session = Session()
        session.envelope()
        _ = session.send("BDAT 3\r\nabc")
        _ = session.opened("QID")
        XCTAssertEqual(session.send("RSET\r\n"), [.abort, .reply("250 2.0.0 Ok\r\n")])
        XCTAssertEqual(session.send("BDAT 1\r\nx"), [.reply("503 5.5.1 Error: need MAIL command\r\n")])

        session = Session()
        session.envelope()
        _ = session.send("BDAT 3\r\nabc")
        _ = session.opened("QID")
        XCTAssertEqual(session.send("QUIT\r\n"), [.abort, .reply("221 2.0.0 Bye\r\n"), .close])

        session = Session()
        session.envelope()
        _ = session.send("BDAT 3\r\nab")
        _ = session.opened("QID")
        XCTAssertEqual(
            session.timedOut(), [.abort, .reply("421 4.4.2 mx.example.test Error: timeout exceeded\r\n"), .close])

        session = Session()
        session.envelope()
        _ = session.send("BDAT 3\r\nabc")
        _ = session.opened("QID")
        XCTAssertEqual(session.send("EHLO again.example.org\r\n").first, .abort)
    }

    func testHeaderErrorsAreReportedAtTheLastChunk() {
        var session = Session()
        session.envelope()
        _ = session.send("BDAT 15\r\nSubject: x\r\nbad")
        XCTAssertEqual(withoutWrites(session.opened("QID")), [octets(15)])
        XCTAssertEqual(
            withoutWrites(session.send("BDAT 4 LAST\r\n\r\n\r\n")),
            [.abort, .reply("554 5.6.0 Message header malformed: line 2: not a header field\r\n")])
    }
}
