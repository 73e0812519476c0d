import XCTest

@testable import LocalSubmission

final class SubmissionReaderTests: XCTestCase {
    private struct Outcome: Equatable {
        var output: String
        var header: String
        var bodyOffset: Int?
    }

    /// Feeds `input` in chunks of `chunkSize` (0: all at once), then finishes.
    private func read(
        _ input: String, ignoreDots: Bool = false, maxSize: Int = 1 << 20, chunkSize: Int = 0
    ) throws(SubmissionReaderError) -> Outcome {
        try read(Array(input.utf8), ignoreDots: ignoreDots, maxSize: maxSize, chunkSize: chunkSize)
    }

    private func read(
        _ bytes: [UInt8], ignoreDots: Bool = false, maxSize: Int = 1 << 20, maxHeader: Int = 1 << 20,
        chunkSize: Int = 0
    ) throws(SubmissionReaderError) -> Outcome {
        var reader = SubmissionReader(ignoreDots: ignoreDots, maxMessageSize: maxSize, maxHeaderSectionSize: maxHeader)
        var output: [UInt8] = []
        var start = 0
        let size = chunkSize == 0 ? max(bytes.count, 1) : chunkSize
        while start < bytes.count {
            output += try reader.consume(bytes[start..<min(start + size, bytes.count)])
            start += size
        }
        output += try reader.finish()
        XCTAssertEqual(reader.size, output.count)
        return Outcome(
            output: String(decoding: output, as: UTF8.self),
            header: String(decoding: reader.headerSection, as: UTF8.self),
            bodyOffset: reader.bodyOffset)
    }

    /// The same result whatever the chunking: all at once, byte by byte,
    /// and in odd-sized chunks.
    private func assertChunkingInvariant(
        _ input: String, ignoreDots: Bool = false, file: StaticString = #filePath, line: UInt = #line
    ) throws -> Outcome {
        let whole = try read(input, ignoreDots: ignoreDots)
        for chunkSize in [1, 2, 3, 7] {
            XCTAssertEqual(try read(input, ignoreDots: ignoreDots, chunkSize: chunkSize), whole, file: file, line: line)
        }
        return whole
    }

    private func assertError(
        _ input: [UInt8], _ expected: SubmissionReaderError, ignoreDots: Bool = false, maxSize: Int = 1 << 20,
        maxHeader: Int = 1 << 20, file: StaticString = #filePath, line: UInt = #line
    ) {
        for chunkSize in [0, 1, 5] {
            XCTAssertThrowsError(
                try read(input, ignoreDots: ignoreDots, maxSize: maxSize, maxHeader: maxHeader, chunkSize: chunkSize),
                file: file, line: line
            ) { error in
                XCTAssertEqual(error as? SubmissionReaderError, expected, file: file, line: line)
            }
        }
    }

    func testLFBecomesCRLF() throws {
        let outcome = try assertChunkingInvariant("Subject: hi\nTo: a@x\n\nbody\nline 2\n")
        XCTAssertEqual(outcome.output, "Subject: hi\r\nTo: a@x\r\n\r\nbody\r\nline 2\r\n")
        XCTAssertEqual(outcome.header, "Subject: hi\r\nTo: a@x\r\n")
        XCTAssertEqual(outcome.bodyOffset, 24)
    }

    func testCRLFKept() throws {
        let outcome = try assertChunkingInvariant("Subject: hi\r\n\r\nbody\r\n")
        XCTAssertEqual(outcome.output, "Subject: hi\r\n\r\nbody\r\n")
        XCTAssertEqual(outcome.bodyOffset, 15)
    }

    func testMixedLineEndings() throws {
        XCTAssertEqual(try assertChunkingInvariant("a: 1\r\nb: 2\n\nx\r\ny").output, "a: 1\r\nb: 2\r\n\r\nx\r\ny\r\n")
    }

    func testMissingFinalNewlineIsAdded() throws {
        XCTAssertEqual(
            try assertChunkingInvariant("Subject: x\n\nno newline").output, "Subject: x\r\n\r\nno newline\r\n")
    }

    func testEmptyInput() throws {
        let outcome = try read("")
        XCTAssertEqual(outcome, Outcome(output: "", header: "", bodyOffset: 0))
    }

    // MARK: Dots

    func testLoneDotEndsMessage() throws {
        let outcome = try assertChunkingInvariant("Subject: x\n\nbody\n.\nignored\n")
        XCTAssertEqual(outcome.output, "Subject: x\r\n\r\nbody\r\n")
        XCTAssertEqual(
            try assertChunkingInvariant("Subject: x\r\n\r\nbody\r\n.\r\nignored\r\n").output,
            "Subject: x\r\n\r\nbody\r\n")
        XCTAssertEqual(try assertChunkingInvariant("body\n.").output, "body\r\n")
    }

    func testInputAfterDotIsIgnoredEvenIfBad() throws {
        var reader = SubmissionReader(ignoreDots: false, maxMessageSize: 100)
        XCTAssertEqual(try reader.consume(Array("a\n.\n".utf8)), Array("a\r\n".utf8))
        XCTAssertTrue(reader.isComplete)
        XCTAssertEqual(try reader.consume([0, 13, 0]), [])
        XCTAssertEqual(try reader.finish(), [])
    }

    func testDotsAreNotUnstuffed() throws {
        XCTAssertEqual(try assertChunkingInvariant("x\n..\n.a\n. \n").output, "x\r\n..\r\n.a\r\n. \r\n")
    }

    func testIgnoreDotsKeepsLoneDot() throws {
        let outcome = try assertChunkingInvariant("Subject: x\n\nbody\n.\nmore\n", ignoreDots: true)
        XCTAssertEqual(outcome.output, "Subject: x\r\n\r\nbody\r\n.\r\nmore\r\n")
    }

    func testDotFirstLineEndsEmptyMessage() throws {
        XCTAssertEqual(try read(".\nSubject: x\n").output, "")
    }

    // MARK: Refusals

    func testNUL() {
        assertError(Array("Subject: x\n\nab\0c\n".utf8), .nul(line: 3))
    }

    func testBareCR() {
        assertError(Array("Subject: x\n\na\rb\n".utf8), .bareCarriageReturn(line: 3))
        assertError(Array("a\r".utf8), .bareCarriageReturn(line: 1))
        assertError(Array("a\r\r\n".utf8), .bareCarriageReturn(line: 1))
        assertError(Array(".\r".utf8), .bareCarriageReturn(line: 1))
    }

    func testLineLength() throws {
        let limit = String(repeating: "x", count: 998)
        XCTAssertEqual(try read(limit + "\r\n").output, limit + "\r\n")
        XCTAssertEqual(try read(limit).output, limit + "\r\n")
        assertError(Array(("a\n" + limit + "y\n").utf8), .lineTooLong(line: 2))
        assertError(Array((limit + "y").utf8), .lineTooLong(line: 1))
    }

    func testMaxSizeCountsCanonicalBytes() throws {
        XCTAssertEqual(try read("abc\n", maxSize: 5).output, "abc\r\n")
        assertError(Array("abc\n".utf8), .messageTooLarge(limit: 4), maxSize: 4)
        assertError(Array("abc".utf8), .messageTooLarge(limit: 4), maxSize: 4)
        assertError(Array("a\nb\nc\n".utf8), .messageTooLarge(limit: 8), maxSize: 8)
    }

    func testHeaderSectionLimit() throws {
        XCTAssertEqual(try read(Array("A: 1\nB: 2\n\nx\n".utf8), maxHeader: 12).header, "A: 1\r\nB: 2\r\n")
        assertError(Array("A: 1\nB: 2\n\nx\n".utf8), .headerSectionTooLarge(limit: 11), maxHeader: 11)
    }

    func testErrorIsFinal() {
        var reader = SubmissionReader(ignoreDots: false, maxMessageSize: 100)
        XCTAssertThrowsError(try reader.consume([0]))
        XCTAssertThrowsError(try reader.consume(Array("fine\n".utf8)))
        XCTAssertThrowsError(try reader.finish())
    }

    func testErrorDescriptions() {
        XCTAssertEqual(SubmissionReaderError.nul(line: 3).description, "line 3: NUL byte in the message")
        XCTAssertEqual(
            SubmissionReaderError.lineTooLong(line: 2).description, "line 2: longer than 998 characters")
    }

    // MARK: The header section

    func testFoldedHeader() throws {
        let outcome = try assertChunkingInvariant("Subject: a\n  folded\nTo: x\n\nbody\n")
        XCTAssertEqual(outcome.header, "Subject: a\r\n  folded\r\nTo: x\r\n")
        XCTAssertEqual(outcome.bodyOffset, outcome.header.utf8.count + 2)
    }

    func testNonFieldLineEndsHeaderSectionAndIsBody() throws {
        let outcome = try assertChunkingInvariant("Subject: a\nnot a field\nTo: x\n")
        XCTAssertEqual(outcome.header, "Subject: a\r\n")
        XCTAssertEqual(outcome.bodyOffset, 12)
        XCTAssertEqual(outcome.output, "Subject: a\r\nnot a field\r\nTo: x\r\n")
    }

    func testMessageWithoutHeader() throws {
        let outcome = try assertChunkingInvariant("hello world\n")
        XCTAssertEqual(outcome.header, "")
        XCTAssertEqual(outcome.bodyOffset, 0)
        XCTAssertEqual(try read(" indented: first\n").bodyOffset, 0)
    }

    func testAllHeader() throws {
        let outcome = try assertChunkingInvariant("Subject: only\n")
        XCTAssertEqual(outcome.header, "Subject: only\r\n")
        XCTAssertEqual(outcome.bodyOffset, 15)
    }

    func testBodyOffsetKnownAsSoonAsHeaderEnds() throws {
        var reader = SubmissionReader(ignoreDots: false, maxMessageSize: 1_000)
        _ = try reader.consume(Array("A: 1\n".utf8))
        XCTAssertNil(reader.bodyOffset)
        _ = try reader.consume(Array("\n".utf8))
        XCTAssertEqual(reader.bodyOffset, 8)
    }

    func testUnixFromLineDropped() throws {
        let outcome = try assertChunkingInvariant("From bob@x Tue Dec  8 00:00:00 2026\nSubject: x\n\nFrom me\n")
        XCTAssertEqual(outcome.output, "Subject: x\r\n\r\nFrom me\r\n")
        XCTAssertEqual(outcome.header, "Subject: x\r\n")
        XCTAssertEqual(try read("From: a@x\n\nb\n").header, "From: a@x\r\n")
    }

    func testLineNumbersInErrorsCountInputLines() {
        assertError(Array("From x\nA: 1\n\0".utf8), .nul(line: 3))
    }
}
