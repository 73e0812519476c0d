import XCTest

@testable import SMTPProtocol

/// The reply parser is the client's attack surface: everything a hostile
/// server sends goes through it first.
final class ReplyParserTests: XCTestCase {
    private func parse(_ text: String, limits: SMTPReplyLimits = SMTPReplyLimits()) throws -> [SMTPReply] {
        try parse(Array(text.utf8), limits: limits)
    }

    private func parse(_ bytes: [UInt8], limits: SMTPReplyLimits = SMTPReplyLimits()) throws -> [SMTPReply] {
        var parser = SMTPReplyParser(limits: limits)
        parser.append(bytes)
        var replies: [SMTPReply] = []
        while let reply = try parser.nextReply() { replies.append(reply) }
        return replies
    }

    private func error(_ text: String, limits: SMTPReplyLimits = SMTPReplyLimits()) -> SMTPReplyParseError? {
        error(Array(text.utf8), limits: limits)
    }

    private func error(_ bytes: [UInt8], limits: SMTPReplyLimits = SMTPReplyLimits()) -> SMTPReplyParseError? {
        do {
            _ = try parse(bytes, limits: limits)
            return nil
        } catch let error as SMTPReplyParseError {
            return error
        } catch {
            return nil
        }
    }

    func testSingleLineReplies() throws {
        let replies = try parse("250 2.1.5 Ok\r\n550 no such user here\r\n354\r\n221 \r\n")
        XCTAssertEqual(replies.map(\.code), [250, 550, 354, 221])
        XCTAssertEqual(replies.map(\.lines), [["2.1.5 Ok"], ["no such user here"], [""], [""]])
        XCTAssertEqual(replies.map(\.enhancedStatus), ["2.1.5", nil, nil, nil])
    }

    func testMultiLineReply() throws {
        let replies = try parse("250-mx.example.test\r\n250-PIPELINING\r\n250-\r\n250 SIZE 1000\r\n")
        XCTAssertEqual(replies.count, 1)
        XCTAssertEqual(replies.first?.lines, ["mx.example.test", "PIPELINING", "", "SIZE 1000"])
    }

    func testEnhancedStatusMustAgreeWithTheCode() throws {
        let replies = try parse(
            "550 5.1.1 gone\r\n550 2.1.5 odd\r\n451 4.3.0\r\n250 2.1.5x no\r\n250 2.1234.5 no\r\n550-5.7.1 a\r\n550 b\r\n"
        )
        XCTAssertEqual(replies.map(\.enhancedStatus), ["5.1.1", nil, "4.3.0", nil, nil, "5.7.1"])
    }

    /// Every split of a pipelined stream gives the same replies.
    func testEverySplitPoint() throws {
        let stream = Array("250-first\r\n250 2.0.0 second\r\n550 5.1.1 no\r\n354 go ahead\r\n".utf8)
        let whole = try parse(stream)
        XCTAssertEqual(whole.count, 3)
        for cut in 0...stream.count {
            var parser = SMTPReplyParser()
            var replies: [SMTPReply] = []
            parser.append(stream[..<cut])
            while let reply = try parser.nextReply() { replies.append(reply) }
            parser.append(stream[cut...])
            while let reply = try parser.nextReply() { replies.append(reply) }
            XCTAssertEqual(replies, whole, "split at \(cut)")
            XCTAssertFalse(parser.hasBufferedInput)
        }
    }

    func testByteAtATime() throws {
        let stream = Array("220-a\r\n220 b\r\n250 c\r\n".utf8)
        var parser = SMTPReplyParser()
        var replies: [SMTPReply] = []
        for byte in stream {
            parser.append([byte])
            while let reply = try parser.nextReply() { replies.append(reply) }
        }
        XCTAssertEqual(replies.map(\.lines), [["a", "b"], ["c"]])
    }

    func testBytesAfterAReplyAreKept() throws {
        var parser = SMTPReplyParser()
        parser.append(Array("220 go ahead\r\n250 x".utf8))
        XCTAssertEqual(try parser.nextReply()?.code, 220)
        XCTAssertTrue(parser.hasBufferedInput)
        XCTAssertNil(try parser.nextReply())
        XCTAssertTrue(parser.hasBufferedInput)
        parser.append(Array("\r\n".utf8))
        XCTAssertEqual(try parser.nextReply()?.lines, ["x"])
        XCTAssertFalse(parser.hasBufferedInput)
    }

    func testLineEndingsMustBeCRLF() {
        XCTAssertEqual(error("250 ok\n"), .bareLineEnding)
        XCTAssertEqual(error("250 ok\rx\r\n"), .bareLineEnding)
        XCTAssertEqual(error("250-a\n250 b\r\n"), .bareLineEnding)
        XCTAssertEqual(error("250 ok\r\r\n"), .bareLineEnding)
    }

    func testControlCharacters() {
        XCTAssertEqual(error([0x32, 0x35, 0x30, 0x20, 0x61, 0x00, 0x62, 0x0D, 0x0A]), .controlCharacter(0))
        XCTAssertEqual(error("250 a\u{1B}[2Jb\r\n"), .controlCharacter(0x1B))
        XCTAssertEqual(error("250 a\u{7F}\r\n"), .controlCharacter(0x7F))
        XCTAssertEqual(try parse("250 tab\there\r\n").first?.lines, ["tab\there"])
        // Octets above 127 are text (some greetings are localised).
        XCTAssertEqual(try parse([0x32, 0x35, 0x30, 0x20, 0xC3, 0xA9, 0x0D, 0x0A]).first?.lines, ["é"])
    }

    func testMalformedLines() {
        XCTAssertEqual(error("25\r\n"), .malformedLine)
        XCTAssertEqual(error("\r\n"), .malformedLine)
        XCTAssertEqual(error("250x\r\n"), .malformedLine)
        XCTAssertEqual(error("2a0 ok\r\n"), .malformedLine)
        XCTAssertEqual(error("hello\r\n"), .malformedLine)
        XCTAssertEqual(error(" 250 ok\r\n"), .malformedLine)
    }

    func testCodeRange() {
        XCTAssertEqual(error("150 ok\r\n"), .invalidCode(150))
        XCTAssertEqual(error("650 ok\r\n"), .invalidCode(650))
        XCTAssertEqual(error("000 ok\r\n"), .invalidCode(0))
        XCTAssertEqual(error("260 ok\r\n"), .invalidCode(260))
        XCTAssertEqual(try parse("559 ok\r\n").first?.code, 559)
    }

    func testMixedCodes() {
        XCTAssertEqual(error("250-a\r\n550 b\r\n"), .inconsistentCode(expected: 250, found: 550))
        XCTAssertEqual(error("250-a\r\n251 b\r\n"), .inconsistentCode(expected: 250, found: 251))
    }

    func testLineLength() throws {
        let limits = SMTPReplyLimits(maxLineLength: 20, maxLines: 5, maxReplyLength: 1000)
        let exact = "250 " + String(repeating: "x", count: 14) + "\r\n"
        XCTAssertEqual(exact.utf8.count, 20)
        XCTAssertEqual(try parse(exact, limits: limits).count, 1)
        XCTAssertEqual(error("250 " + String(repeating: "x", count: 15) + "\r\n", limits: limits), .lineTooLong)
        // Reported before the line ends: nothing waits for a CR LF that never comes.
        var parser = SMTPReplyParser(limits: limits)
        parser.append(Array(("250 " + String(repeating: "x", count: 100)).utf8))
        XCTAssertThrowsError(try parser.nextReply()) { XCTAssertEqual($0 as? SMTPReplyParseError, .lineTooLong) }
    }

    func testDefaultLineLimitIsTolerantButBounded() throws {
        XCTAssertEqual(try parse("250 " + String(repeating: "x", count: 1000) + "\r\n").count, 1)
        XCTAssertEqual(error("250 " + String(repeating: "x", count: 5000) + "\r\n"), .lineTooLong)
    }

    func testLineCount() throws {
        let limits = SMTPReplyLimits(maxLineLength: 100, maxLines: 3, maxReplyLength: 1000)
        XCTAssertEqual(try parse("250-a\r\n250-b\r\n250 c\r\n", limits: limits).count, 1)
        XCTAssertEqual(error("250-a\r\n250-b\r\n250-c\r\n250 d\r\n", limits: limits), .tooManyLines)
        XCTAssertEqual(error(String(repeating: "250-x\r\n", count: 101) + "250 x\r\n"), .tooManyLines)
    }

    func testReplyLength() throws {
        let limits = SMTPReplyLimits(maxLineLength: 100, maxLines: 100, maxReplyLength: 30)
        XCTAssertEqual(try parse("250-aaaaaaaa\r\n250 bbbbbbbbb\r\n", limits: limits).count, 1)
        XCTAssertEqual(error("250-aaaaaaaa\r\n250-bbbbbbbb\r\n250 c\r\n", limits: limits), .replyTooLong)
        // The bound is per reply: many small ones in a row are fine.
        XCTAssertEqual(
            try parse(String(repeating: "250 aaaaaaaaaaaaaaaaaaaa\r\n", count: 10), limits: limits).count, 10)
    }

    func testAnErrorSticks() {
        var parser = SMTPReplyParser()
        parser.append(Array("250 ok\r\n250 \u{0}\r\n250 fine\r\n".utf8))
        XCTAssertEqual(try parser.nextReply()?.code, 250)
        XCTAssertThrowsError(try parser.nextReply())
        parser.append(Array("250 later\r\n".utf8))
        XCTAssertThrowsError(try parser.nextReply()) {
            XCTAssertEqual($0 as? SMTPReplyParseError, .controlCharacter(0))
        }
    }

    /// Random bytes: the parser may refuse, never crash, and never returns a
    /// reply outside its own rules.
    func testRandomInput() {
        var random = SplitMix64(seed: 0x5EED)
        let alphabet = Array("0123456789 -\r\nabc.\t".utf8) + [0, 0x80, 0xFF]
        for _ in 0..<3000 {
            var parser = SMTPReplyParser(limits: SMTPReplyLimits(maxLineLength: 40, maxLines: 4, maxReplyLength: 80))
            let count = Int(random.next() % 120)
            let bytes = (0..<count).map { _ in alphabet[Int(random.next() % UInt64(alphabet.count))] }
            parser.append(bytes)
            while true {
                guard let reply = try? parser.nextReply() else { break }
                XCTAssertTrue((200...559).contains(reply.code))
                XCTAssertFalse(reply.lines.isEmpty)
                XCTAssertLessThanOrEqual(reply.lines.count, 4)
            }
        }
    }
}

/// A small deterministic generator, so a failing random test can be rerun.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Found by fuzz_reply: 0xFF bytes decoded as U+FFFD made a 2,000-byte
    /// line into 6,000 bytes of text.
    func testInvalidUTF8StaysWithinTheLineLimit() throws {
        var parser = SMTPReplyParser()
        parser.append(Array("450 4.2.1 later".utf8) + [UInt8](repeating: 0xFF, count: 2000) + [0x0D, 0x0A])
        let reply = try XCTUnwrap(try parser.nextReply())
        XCTAssertLessThanOrEqual(reply.lines[0].utf8.count, 2048)
        XCTAssertTrue(reply.lines[0].hasSuffix("???"))
        var valid = SMTPReplyParser()
        valid.append(Array("250 Grüße\r\n".utf8))
        XCTAssertEqual(try valid.nextReply()?.lines, ["Grüße"])
    }
}
