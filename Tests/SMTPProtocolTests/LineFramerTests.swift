import XCTest

@testable import SMTPProtocol

final class LineFramerTests: XCTestCase {
    private func frame(_ text: String, max: Int = 512) -> [Result<[UInt8], LineFramerError>] {
        frame(bytes: Array(text.utf8), max: max)
    }

    private func frame(bytes: [UInt8], max: Int = 512) -> [Result<[UInt8], LineFramerError>] {
        var framer = LineFramer(maxLineLength: max)
        var lines: [Result<[UInt8], LineFramerError>] = []
        var rest = bytes[...]
        while !rest.isEmpty {
            let (consumed, line) = framer.consume(rest)
            XCTAssertGreaterThan(consumed, 0)
            rest = rest.dropFirst(consumed)
            if let line { lines.append(line) }
        }
        return lines
    }

    func testStopsAfterEachLine() {
        var framer = LineFramer(maxLineLength: 512)
        let input = Array("AB\r\nCD\r\n".utf8)[...]
        let (consumed, line) = framer.consume(input)
        XCTAssertEqual(consumed, 4)
        XCTAssertEqual(line, .success(Array("AB".utf8)))
        XCTAssertFalse(framer.hasPartialLine)
    }

    func testPartialLineIsKeptAcrossCalls() {
        var framer = LineFramer(maxLineLength: 512)
        XCTAssertNil(framer.consume(Array("NO".utf8)[...]).line)
        XCTAssertTrue(framer.hasPartialLine)
        XCTAssertNil(framer.consume(Array("OP\r".utf8)[...]).line)
        XCTAssertEqual(framer.consume([0x0A][...]).line, .success(Array("NOOP".utf8)))
    }

    func testOnlyCRLFEndsALine() {
        XCTAssertEqual(frame("a\nb\r\n"), [.failure(.bareLineEnding)])
        XCTAssertEqual(frame("a\rb\r\n"), [.failure(.bareLineEnding)])
        XCTAssertEqual(frame("a\r\r\nb\r\n"), [.failure(.bareLineEnding), .success(Array("b".utf8))])
        XCTAssertEqual(frame("\n\r\n"), [.failure(.bareLineEnding)])
        XCTAssertEqual(frame("\r\n"), [.success([])])
    }

    func testNUL() {
        XCTAssertEqual(frame(bytes: [0x41, 0x00, 0x0D, 0x0A]), [.failure(.nul)])
    }

    func testLengthLimitCountsTheCRLF() {
        XCTAssertEqual(frame("abcd\r\n", max: 6), [.success(Array("abcd".utf8))])
        XCTAssertEqual(frame("abcde\r\nok\r\n", max: 6), [.failure(.lineTooLong), .success(Array("ok".utf8))])
        XCTAssertEqual(frame(String(repeating: "z", count: 100_000) + "\r\n", max: 6), [.failure(.lineTooLong)])
    }
}
