import XCTest

@testable import SMTPProtocol

final class DataPhaseTests: XCTestCase {
    private let queued = Event.reply("250 2.0.0 Ok: queued as 7Q3K9ABCDEFG\r\n")

    func testDotStuffingIsUndoneExactly() {
        var session = Session()
        session.openMessage()
        let events = session.send("Subject: dots\r\n\r\n..hidden\r\n.x\r\n...\r\n. \r\nend.\r\n.\r\n")
        XCTAssertEqual(
            String(decoding: spool(events), as: UTF8.self), "Subject: dots\r\n\r\n.hidden\r\nx\r\n..\r\n \r\nend.\r\n")
    }

    func testEmptyMessageEndsImmediately() {
        var session = Session()
        session.openMessage()
        let events = session.send(".\r\n")
        XCTAssertEqual(spool(events), [])
        guard case .commit(let message)? = events.last else { return XCTFail("no commit") }
        XCTAssertEqual(message.size, receivedHeader(recipient: "alice@example.test").utf8.count)
    }

    func testByteByByteFeedingGivesTheSameResultAsOneWrite() {
        let script = Array(
            ("EHLO client.example.org\r\nMAIL FROM:<bob@example.org>\r\nRCPT TO:<alice@example.test>\r\n"
                + "DATA\r\n").utf8)
        let content = Array("Subject: t\r\n\r\n..dot\r\nline\r\n\r\n. \r\n".utf8) + [0xC3, 0xA9, 0x0D, 0x0A]
        let message = content + Array(".\r\nQUIT\r\n".utf8)

        func run(_ feed: (inout Session, [UInt8]) -> [Event]) -> [Event] {
            var session = Session()
            var log = session.start()
            log += feed(&session, script)
            log += session.accept("alice")
            log += session.opened("7Q3K9ABCDEFG")
            log += feed(&session, message)
            log += session.committed()
            return log
        }
        let whole = run { session, bytes in session.send(bytes: bytes) }
        let trickled = run { session, bytes in session.trickle(bytes) }
        XCTAssertEqual(spool(trickled), spool(whole))
        XCTAssertEqual(withoutWrites(trickled), withoutWrites(whole))
        XCTAssertEqual(
            spool(whole),
            Array(receivedHeader(recipient: "alice@example.test").utf8)
                + Array("Subject: t\r\n\r\n.dot\r\nline\r\n\r\n \r\n".utf8) + [0xC3, 0xA9, 0x0D, 0x0A])
        XCTAssertEqual(Array(withoutWrites(whole).suffix(3)), [queued, .reply("221 2.0.0 Bye\r\n"), .close])
    }

    /// "abc" is not a header field, so the message has no header section:
    /// an empty line goes before it (see HeaderSectionTests).
    func testTerminatorSplitAtEveryByteBoundary() {
        let input = Array("abc\r\n.\r\nNOOP\r\n".utf8)
        for split in 0...input.count {
            var session = Session()
            session.openMessage()
            var events = session.send(bytes: Array(input[..<split]))
            events += session.send(bytes: Array(input[split...]))
            XCTAssertEqual(String(decoding: spool(events), as: UTF8.self), "\r\nabc\r\n", "split at \(split)")
            XCTAssertEqual(withoutWrites(events).count, 1, "split at \(split)")
            XCTAssertEqual(session.committed(), [queued, .reply("250 2.0.0 Ok\r\n")], "split at \(split)")
        }
    }

    func testEightBitBytesPassUnchanged() {
        var session = Session()
        session.openMessage()
        let content: [UInt8] = Array("Subject: 8bit\r\n\r\n".utf8) + [0x80, 0xFF, 0xC3, 0xA9, 0x20, 0x7F, 0x0D, 0x0A]
        let events = session.send(bytes: content + Array(".\r\n".utf8))
        XCTAssertEqual(spool(events), content)
        guard case .commit? = events.last else { return XCTFail("no commit") }
    }

    func testBareLFInDataRefusesTheMessage() {
        var session = Session()
        session.openMessage()
        XCTAssertEqual(
            withoutWrites(session.send("one\ntwo\r\n.\r\n")),
            [.abort, .reply("550 5.6.11 Message contains bare CR or bare LF\r\n")])
        XCTAssertFalse(session.machine.isWaiting)
        XCTAssertEqual(session.send("DATA\r\n"), [.reply("503 5.5.1 Error: need RCPT command\r\n")])
    }

    func testBareCRInDataRefusesTheMessage() {
        var session = Session()
        session.openMessage()
        XCTAssertEqual(
            withoutWrites(session.send("one\rtwo\r\n.\r\n")),
            [.abort, .reply("550 5.6.11 Message contains bare CR or bare LF\r\n")])
    }

    /// The CVE-2023-51764 payload: an MTA that ends DATA at "\n.\r\n" would
    /// run the second MAIL transaction. Here it stays message content and
    /// the whole message is refused.
    func testSmugglingPayloadIsNeitherTerminatorNorCommands() {
        var session = Session()
        session.openMessage()
        let events = session.send(
            "Subject: a\r\n\r\nhi\n.\r\nMAIL FROM:<admin@example.test>\r\nRCPT TO:<victim@example.test>\r\n"
                + "DATA\r\nforged\r\n.\r\n")
        XCTAssertEqual(withoutWrites(events), [.abort, .reply("550 5.6.11 Message contains bare CR or bare LF\r\n")])
        XCTAssertEqual(spool(events), Array("Subject: a\r\n\r\nhi".utf8))
    }

    func testLFDotCRLFAndCRLFDotLFDoNotEndData() {
        var session = Session()
        session.openMessage()
        XCTAssertEqual(withoutWrites(session.send("a\n.\r\nb\r\n.\nc\r\n.\r\r\n")), [])
        XCTAssertEqual(
            withoutWrites(session.send(".\r\n")),
            [.abort, .reply("550 5.6.11 Message contains bare CR or bare LF\r\n")])
    }

    func testNULInDataRefusesTheMessage() {
        var session = Session()
        session.openMessage()
        let events = session.send(bytes: Array("Subject: x\r\n\r\na".utf8) + [0] + Array("b\r\n.\r\n".utf8))
        XCTAssertEqual(withoutWrites(events), [.abort, .reply("554 5.6.0 Message contains NUL character\r\n")])
        XCTAssertEqual(spool(events), Array("Subject: x\r\n\r\na".utf8))
    }

    func testOversizedMessageIsReadToTheEndAndRefused() {
        var session = Session(.test(maxMessageSize: 20))
        session.openMessage()
        let first = session.send("Subject: x\r\n\r\n0123")
        XCTAssertEqual(spool(first), Array("Subject: x\r\n\r\n0123".utf8))
        let rest = session.send(String(repeating: "more\r\n", count: 50) + ".\r\n")
        XCTAssertEqual(spool(rest), [])
        XCTAssertEqual(withoutWrites(rest), [.abort, .reply("552 5.3.4 Message size exceeds fixed limit\r\n")])
        XCTAssertEqual(session.send("MAIL FROM:<bob@example.org>\r\n"), [.reply("250 2.1.0 Ok\r\n")])
    }

    func testMessageOfExactlyTheMaximumSizeIsAccepted() {
        var session = Session(.test(maxMessageSize: 10))
        session.openMessage()
        let events = session.send("01234567\r\n.\r\n")
        guard case .commit(let message)? = events.last else { return XCTFail("no commit") }
        // The size limit counts the client's 10 octets; the spool also holds
        // the empty line put before a message without header section.
        XCTAssertEqual(message.size, receivedHeader(recipient: "alice@example.test").utf8.count + 12)
    }

    func testHopLimit() {
        let hops = String(repeating: "Received: from a by b; \(testDate)\r\n", count: 100)
        var session = Session()
        session.openMessage()
        guard case .commit? = session.send(hops + "Subject: x\r\n\r\nbody\r\n.\r\n").last else {
            return XCTFail("100 Received: fields must pass")
        }

        session = Session()
        session.openMessage()
        let events = session.send(hops + "received : folded\r\n\tcontinuation\r\n\r\nbody\r\n.\r\n")
        XCTAssertEqual(withoutWrites(events), [.abort, .reply("554 5.4.6 Too many hops\r\n")])
    }

    func testReceivedFieldsInTheBodyAreNotCounted() {
        var session = Session(.test(maxReceivedHeaders: 1))
        session.openMessage()
        let events = session.send("Received: one\r\n\r\nReceived: two\r\nReceived: three\r\n.\r\n")
        guard case .commit? = events.last else { return XCTFail("body lines must not count as hops") }

        session = Session(.test(maxReceivedHeaders: 1))
        session.openMessage()
        let refused = session.send("Received: one\r\nRECEIVED:two\r\n\r\n.\r\n")
        XCTAssertEqual(withoutWrites(refused), [.abort, .reply("554 5.4.6 Too many hops\r\n")])
    }

    func testLargeWritesAreChunked() {
        var session = Session()
        session.openMessage()
        let line = String(repeating: "x", count: 998) + "\r\n"
        let events = session.send(String(repeating: line, count: 200) + ".\r\n")
        let sizes = events.compactMap { event -> Int? in
            if case .write(let bytes) = event { return bytes.count }
            return nil
        }
        XCTAssertEqual(sizes, [65_536, 65_536, 65_536, 3_394])  // + the empty line before a headerless body
    }

    func testTimeoutDuringDataDiscardsTheMessage() {
        var session = Session()
        session.openMessage()
        _ = session.send("partial")
        XCTAssertEqual(
            session.timedOut(), [.abort, .reply("421 4.4.2 mx.example.test Error: timeout exceeded\r\n"), .close])
    }
}
