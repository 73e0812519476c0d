import MailVocabulary
import XCTest

@testable import LocalSubmission

final class SubmitProtocolTests: XCTestCase {
    private func request(_ text: String) throws -> SubmitRequest { try SubmitRequest.parse(line: Array(text.utf8)) }

    private func assertRefused(_ text: String, _ expected: SubmitProtocolError, line: UInt = #line) {
        XCTAssertThrowsError(try request(text), line: line) { error in
            XCTAssertEqual(error as? SubmitProtocolError, expected, line: line)
        }
    }

    func testRequestsRoundTrip() throws {
        guard let name = DropFileName(uid: 7, random: Array(repeating: 0xAB, count: 16)) else { return XCTFail() }
        let requests: [SubmitRequest] = [.submit(name), .verify("alice"), .check("\"a b\"@x"), .quit]
        for original in requests {
            guard let encoded = original.encoded else { return XCTFail("\(original)") }
            XCTAssertEqual(Array(encoded.suffix(2)), [13, 10])
            XCTAssertEqual(try SubmitRequest.parse(line: Array(encoded.dropLast(2))), original)
        }
        XCTAssertEqual(SubmitRequest.quit.encoded, Array("QUIT\r\n".utf8))
        XCTAssertEqual(try request("SUBMIT \(name)"), .submit(name))
    }

    func testUnencodableRequests() {
        XCTAssertNil(SubmitRequest.verify("a\r\nQUIT").encoded)
        XCTAssertNil(SubmitRequest.verify("").encoded)
        XCTAssertNil(SubmitRequest.check(String(repeating: "a", count: 1_000)).encoded)
    }

    func testRequestRefusals() {
        assertRefused("quit", .unknownRequest)
        assertRefused("QUIT ", .unknownRequest)
        assertRefused("HELO x", .unknownRequest)
        assertRefused("VERIFY", .unknownRequest)
        assertRefused("VERIFY ", .invalidArgument)
        assertRefused("VERIFY  a", .invalidArgument)
        assertRefused("VERIFY a ", .invalidArgument)
        assertRefused("VERIFY a\u{1B}b", .invalidArgument)
        assertRefused("SUBMIT ../etc/passwd", .invalidArgument)
        assertRefused("SUBMIT U1.abc", .invalidArgument)
        assertRefused("submit U1.00000000000000000000000000000000", .unknownRequest)
        assertRefused("CHECK " + String(repeating: "a", count: 993), .lineTooLong)
        XCTAssertNoThrow(try request("CHECK " + String(repeating: "a", count: 992)))
        XCTAssertThrowsError(try SubmitRequest.parse(line: Array("VERIFY ".utf8) + [0xFF]))
    }

    func testLineSplitter() throws {
        var splitter = SubmitLineSplitter()
        let input = Array("QUIT\r\nVERIFY a\r\nCHE".utf8)
        var (consumed, line) = try splitter.consume(input[...])
        XCTAssertEqual(consumed, 6)
        XCTAssertEqual(line, Array("QUIT".utf8))
        (consumed, line) = try splitter.consume(input[6...])
        XCTAssertEqual(line, Array("VERIFY a".utf8))
        (consumed, line) = try splitter.consume(input[16...])
        XCTAssertNil(line)
        XCTAssertTrue(splitter.hasPartialLine)
        (_, line) = try splitter.consume(Array("CK b\r\n".utf8)[...])
        XCTAssertEqual(line, Array("CHECK b".utf8))
        XCTAssertFalse(splitter.hasPartialLine)
    }

    func testLineSplitterRefusals() {
        for bad in ["a\nb", "a\rb", "a\0b\r\n"] {
            var splitter = SubmitLineSplitter()
            XCTAssertThrowsError(try splitter.consume(Array(bad.utf8)[...])) { error in
                XCTAssertEqual(error as? SubmitProtocolError, .bareLineEnding)
            }
        }
        var splitter = SubmitLineSplitter(maxLineLength: 10)
        XCTAssertNoThrow(try splitter.consume(Array("12345678\r\n".utf8)[...]))
        XCTAssertThrowsError(try splitter.consume(Array("123456789".utf8)[...])) { error in
            XCTAssertEqual(error as? SubmitProtocolError, .lineTooLong)
        }
    }

    // MARK: Replies

    private func decode(_ text: String, chunk: Int = 0) throws -> [SMTPReply] {
        var decoder = SubmitReplyDecoder()
        let bytes = Array(text.utf8)
        var replies: [SMTPReply] = []
        var start = 0
        let size = chunk == 0 ? max(1, bytes.count) : chunk
        while start < bytes.count {
            var slice = bytes[start..<min(start + size, bytes.count)]
            while !slice.isEmpty {
                let (consumed, reply) = try decoder.consume(slice)
                slice = slice.dropFirst(consumed)
                if let reply { replies.append(reply) }
            }
            start += size
        }
        return replies
    }

    func testRepliesRoundTrip() throws {
        let replies = [
            SMTPReply(code: 250, enhanced: "2.0.0", text: "Ok: queued as ABC"),
            SMTPReply(code: 250, enhanced: "2.1.5", text: "alice: deliverable", additionalLines: ["bob: too", ""]),
            SMTPReply(code: 451, enhanced: "4.3.0", text: "try again"),
            SMTPReply(code: 550, enhanced: "5.1.1", text: "no such user"),
            SMTPReply(code: 250, enhanced: "", text: "plain", additionalLines: ["lines"]),
        ]
        let wire = String(decoding: replies.flatMap(\.rendered), as: UTF8.self)
        for chunk in [0, 1, 3] {
            XCTAssertEqual(try decode(wire, chunk: chunk), replies)
        }
    }

    func testReplyFromOtherServerKeptVerbatim() throws {
        let reply = try decode("250-2.0.0 first\r\n250 second\r\n")
        XCTAssertEqual(reply, [SMTPReply(code: 250, enhanced: "", text: "2.0.0 first", additionalLines: ["second"])])
        XCTAssertEqual(reply.first?.enhancedStatus, "2.0.0")
        XCTAssertEqual(try decode("550 2.0.0 odd\r\n").first?.enhanced, "")
        XCTAssertEqual(try decode("250\r\n"), [SMTPReply(code: 250, enhanced: "", text: "")])
    }

    func testReplyRefusals() {
        let cases: [(String, SubmitProtocolError)] = [
            ("25 x\r\n", .malformedReply), ("354 go\r\n", .malformedReply), ("250x\r\n", .malformedReply),
            ("abc ok\r\n", .malformedReply), ("250 \u{1B}\r\n", .malformedReply), ("250 ok\n", .bareLineEnding),
            ("250-a\r\n550 b\r\n", .inconsistentReplyCode), ("600 x\r\n", .malformedReply),
        ]
        for (text, expected) in cases {
            XCTAssertThrowsError(try decode(text), text) { error in
                XCTAssertEqual(error as? SubmitProtocolError, expected, text)
            }
        }
        var decoder = SubmitReplyDecoder(maxLines: 3)
        XCTAssertThrowsError(try decoder.consume(Array("250-a\r\n250-b\r\n250-c\r\n250 d\r\n".utf8)[...])) { error in
            XCTAssertEqual(error as? SubmitProtocolError, .tooManyReplyLines)
        }
    }
}
