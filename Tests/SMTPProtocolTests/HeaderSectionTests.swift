import XCTest

@testable import SMTPProtocol

/// Header processing while streaming: syntax, Received: count, bounds, and
/// the Date: and Message-ID: fields added to a message without them.
final class HeaderSectionTests: XCTestCase {
    private let date = "Date: \(testDate)\r\n"
    private let messageID = "Message-ID: <7Q3K9ABCDEFG.20261123115000@mx.example.test>\r\n"

    /// The spool after the Received: header (written when the spool file
    /// opens), for `content` sent in DATA; nil if nothing was committed.
    private func spooled(
        _ content: String, _ settings: SMTPServerSettings = .test(addMissingHeaders: true),
        file: StaticString = #filePath, line: UInt = #line
    ) -> String? {
        var session = Session(settings)
        session.openMessage(file: file, line: line)
        let events = session.send(content + ".\r\n")
        guard commits(events).count == 1 else { return nil }
        return text(spool(events))
    }

    func testReceivedStaysFirst() {
        var session = Session(.test(addMissingHeaders: true))
        _ = session.start()
        _ = session.send("EHLO client.example.org\r\nMAIL FROM:<bob@example.org>\r\nRCPT TO:<a@example.test>\r\n")
        _ = session.accept("a")
        _ = session.send("DATA\r\n")
        var events = session.opened("7Q3K9ABCDEFG")
        events += session.send("Subject: hi\r\n\r\nbody\r\n.\r\n")
        XCTAssertEqual(
            text(spool(events)),
            receivedHeader(recipient: "a@example.test") + "Subject: hi\r\n" + date + messageID + "\r\nbody\r\n")
        guard let message = commits(events).first else { return XCTFail("no commit") }
        XCTAssertEqual(message.size, spool(events).count)
    }

    private func refusal(_ content: String, _ settings: SMTPServerSettings = .test()) -> [Event] {
        var session = Session(settings)
        session.openMessage()
        let events = session.send(content + ".\r\n")
        XCTAssertEqual(commits(events), [])
        return withoutWrites(events)
    }

    private func malformed(_ reason: String) -> [Event] {
        [.abort, .reply("554 5.6.0 Message header malformed: \(reason)\r\n")]
    }

    // MARK: - Added headers

    func testDateAndMessageIDAreAddedAtTheEndOfTheHeaderSection() {
        XCTAssertEqual(
            spooled("From: <bob@example.org>\r\nSubject: hi\r\n\r\nbody\r\n"),
            "From: <bob@example.org>\r\nSubject: hi\r\n" + date + messageID + "\r\nbody\r\n")
    }

    func testOnlyWhatIsMissingIsAdded() {
        XCTAssertEqual(
            spooled("date: Tue, 1 Dec 2026 10:00:00 +0000\r\nSubject: hi\r\n\r\nbody\r\n"),
            "date: Tue, 1 Dec 2026 10:00:00 +0000\r\nSubject: hi\r\n" + messageID + "\r\nbody\r\n")
        XCTAssertEqual(
            spooled("MESSAGE-ID : <x@y>\r\n\r\nbody\r\n"), "MESSAGE-ID : <x@y>\r\n" + date + "\r\nbody\r\n")
        let both = "Date: Tue, 1 Dec 2026 10:00:00 +0000\r\nMessage-ID: <x@y>\r\n\r\nbody\r\n"
        XCTAssertEqual(spooled(both), both)
    }

    func testFieldsInTheBodyDoNotCount() {
        XCTAssertEqual(
            spooled("Subject: hi\r\n\r\nDate: no\r\nMessage-ID: no\r\n"),
            "Subject: hi\r\n" + date + messageID + "\r\nDate: no\r\nMessage-ID: no\r\n")
    }

    func testNothingIsAddedWhenTurnedOff() {
        XCTAssertEqual(spooled("Subject: hi\r\n\r\nbody\r\n", .test()), "Subject: hi\r\n\r\nbody\r\n")
    }

    func testAddMissingHeadersIsOnByDefault() {
        XCTAssertTrue(SMTPServerSettings(hostname: "h", greeting: "g").addMissingHeaders)
    }

    func testMessageWithoutHeaderSection() {
        XCTAssertEqual(
            spooled("Hello,\r\nthis is all body.\r\n"), date + messageID + "\r\nHello,\r\nthis is all body.\r\n")
        XCTAssertEqual(spooled("Dear John: hi\r\n"), date + messageID + "\r\nDear John: hi\r\n")
        XCTAssertEqual(
            spooled("From bob@example.org Mon Nov 23 11:50:00 2026\r\n"),
            date + messageID + "\r\nFrom bob@example.org Mon Nov 23 11:50:00 2026\r\n")
        XCTAssertEqual(spooled("Hello\r\n", .test()), "\r\nHello\r\n")
    }

    func testMessageThatIsAllHeader() {
        XCTAssertEqual(spooled("Subject: only\r\n"), "Subject: only\r\n" + date + messageID)
        XCTAssertEqual(spooled(""), date + messageID)
        XCTAssertEqual(spooled("\r\n"), date + messageID + "\r\n")
    }

    func testBdatMessageEndingInsideAHeaderLine() {
        var session = Session(.test(addMissingHeaders: true))
        session.envelope()
        _ = session.send("BDAT 10 LAST\r\nSubject: x")
        let events = session.opened("7Q3K9ABCDEFG")
        XCTAssertEqual(
            text(spool(events)), receivedHeader(recipient: "alice@example.test") + "Subject: x\r\n" + date + messageID)
        // Without anything to add, it is stored as sent.
        session = Session()
        session.envelope()
        _ = session.send("BDAT 10 LAST\r\nSubject: x")
        XCTAssertEqual(
            text(spool(session.opened("7Q3K9ABCDEFG"))), receivedHeader(recipient: "alice@example.test") + "Subject: x")
        session = Session(.test(addMissingHeaders: true))
        session.envelope()
        _ = session.send("BDAT 5 LAST\r\nHello")
        XCTAssertEqual(
            text(spool(session.opened("7Q3K9ABCDEFG"))),
            receivedHeader(recipient: "alice@example.test") + date + messageID + "\r\nHello")
    }

    func testMessageIDValues() {
        XCTAssertEqual(
            AddedHeaders.messageID(queueID: "45H0H5J4HVKR", date: "Mon, 23 Nov 2026 11:50:00 +0000", hostname: "mx.x"),
            "<45H0H5J4HVKR.20261123115000@mx.x>")
        XCTAssertEqual(AddedHeaders.timestampDigits("1 Jan 2027 09:05 -0500"), "20270101090500")
        XCTAssertEqual(AddedHeaders.timestampDigits("Sun, 09 Feb 2025 23:59:59 +0100"), "20250209235959")
        XCTAssertNil(AddedHeaders.timestampDigits("yesterday"))
        XCTAssertNil(AddedHeaders.timestampDigits("Mon, 23 Foo 2026 11:50:00 +0000"))
        XCTAssertEqual(AddedHeaders.messageID(queueID: "Q1", date: "now", hostname: "mx.x"), "<Q1@mx.x>")
        XCTAssertEqual(AddedHeaders.messageID(queueID: "Q<1>", date: "now", hostname: "m x\r\n"), "<Q1@mx>")
        XCTAssertEqual(AddedHeaders.messageID(queueID: "Q1", date: "now", hostname: ""), "<Q1@localhost>")
    }

    // MARK: - Syntax

    func testValidSyntaxVariants() {
        let content =
            "Subject: folded\r\n continued\r\n\tand tabbed\r\nX-Empty:\r\nX-Obs  : blanks before the colon\r\n"
            + "X-8bit: caf\u{E9}\r\n\r\n body\r\n"
        XCTAssertEqual(spooled(content, .test()), content)
    }

    func testMalformedHeaderSections() {
        XCTAssertEqual(
            refusal(" folded first\r\nSubject: x\r\n\r\n"),
            malformed("line 1: continuation line before the first field"))
        XCTAssertEqual(refusal("Subject: x\r\nnot a field\r\n\r\nbody\r\n"), malformed("line 2: not a header field"))
        XCTAssertEqual(refusal("Subject: x\r\nBad Name: y\r\n\r\n"), malformed("line 2: invalid field name"))
        XCTAssertEqual(refusal("Subject: x\r\n: no name\r\n\r\n"), malformed("line 2: invalid field name"))
        XCTAssertEqual(refusal("Subject: x\r\n \r\nFrom: evil\r\n\r\n"), malformed("line 2: line of only blanks"))
        XCTAssertEqual(refusal("Subject: x\r\nX-\u{E9}: y\r\n\r\n"), malformed("line 2: invalid field name"))
        XCTAssertEqual(refusal("A: 1\r\nB: 2\r\nC: 3\r\nbroken\r\n"), malformed("line 4: not a header field"))
    }

    // MARK: - Received: count

    func testHopCounting() {
        var assembler = MessageAssembler(
            limits: .init(
                maxMessageSize: 1000, maxReceivedHeaders: 100, maxHeaderSectionSize: 1000, maxHeaderLines: 100),
            date: nil, messageID: nil)
        var output: [UInt8] = []
        assembler.consume(
            Array("Received: a\r\n X-Received: b\r\nreceived\t :c\r\nReceivedX: d\r\n\r\nReceived: e\r\n".utf8)[...],
            into: &output)
        assembler.finish(into: &output)
        XCTAssertEqual(assembler.receivedCount, 2)
        XCTAssertNil(assembler.refusal)
    }

    // MARK: - Bounds

    func testHeaderSectionSizeLimit() {
        let tooLarge = [Event.abort, .reply("552 5.3.4 Header section too large\r\n")]
        let header = "Subject: " + String(repeating: "x", count: 89) + "\r\n"  // 100 octets
        XCTAssertNotNil(
            spooled(header + "\r\n" + String(repeating: "body\r\n", count: 100), .test(maxHeaderSectionSize: 102)))
        XCTAssertEqual(refusal(header + "\r\n", .test(maxHeaderSectionSize: 101)), tooLarge)
        XCTAssertEqual(refusal(header + "X: y\r\n\r\n", .test(maxHeaderSectionSize: 101)), tooLarge)
        // A message that never ends its header section is bounded too.
        XCTAssertEqual(refusal(String(repeating: "x", count: 500) + "\r\n", .test(maxHeaderSectionSize: 101)), tooLarge)
    }

    func testHeaderLineLimit() {
        let tooLarge = [Event.abort, .reply("552 5.3.4 Header section too large\r\n")]
        XCTAssertNotNil(spooled("A: 1\r\nB: 2\r\n\tfolded\r\n\r\n", .test(maxHeaderLines: 3)))
        XCTAssertEqual(refusal("A: 1\r\nB: 2\r\n\tfolded\r\nC: 3\r\n\r\n", .test(maxHeaderLines: 3)), tooLarge)
        XCTAssertEqual(refusal("A: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n", .test(maxHeaderLines: 3)), tooLarge)
    }

    func testDefaultBounds() {
        let settings = SMTPServerSettings(hostname: "h", greeting: "g")
        XCTAssertEqual(settings.maxHeaderSectionSize, 1_048_576)
        XCTAssertEqual(settings.maxHeaderLines, 1000)
    }

    /// However the header section is cut into reads, the spool is the same.
    func testHeaderSectionSplitAtEveryByte() {
        let content = Array("Subject: a\r\n b\r\nX: y\r\n\r\nbody\r\n.\r\n".utf8)
        var reference: [UInt8]?
        for split in 0...content.count {
            var session = Session(.test(addMissingHeaders: true))
            session.openMessage()
            var events = session.send(bytes: Array(content[..<split]))
            events += session.send(bytes: Array(content[split...]))
            XCTAssertEqual(commits(events).count, 1)
            if let reference {
                XCTAssertEqual(spool(events), reference, "split at \(split)")
            } else {
                reference = spool(events)
            }
        }
    }
}
