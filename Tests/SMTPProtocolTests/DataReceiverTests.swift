import XCTest

@testable import SMTPProtocol

final class DataReceiverTests: XCTestCase {
    /// Feeds `chunks` one after another and returns the output and what was
    /// left after the terminator.
    private func run(
        _ chunks: [String], policy: BareLineEndings = .reject
    ) -> (receiver: DataReceiver, output: String, rest: String) {
        var receiver = DataReceiver(bareLineEndings: policy)
        var output: [UInt8] = []
        var rest: [UInt8] = []
        for chunk in chunks {
            let bytes = Array(chunk.utf8)
            let consumed = receiver.consume(bytes[...], into: &output)
            rest += bytes[consumed...]
        }
        return (receiver, String(decoding: output, as: UTF8.self), String(decoding: rest, as: UTF8.self))
    }

    func testTerminatorAndWhatFollows() {
        let result = run(["hello\r\n.\r\nQUIT\r\n"])
        XCTAssertTrue(result.receiver.isComplete)
        XCTAssertEqual(result.output, "hello\r\n")
        XCTAssertEqual(result.rest, "QUIT\r\n")
        XCTAssertEqual(result.receiver.contentSize, 7)
    }

    func testTerminatorAtTheVeryStart() {
        let result = run([".\r\n"])
        XCTAssertTrue(result.receiver.isComplete)
        XCTAssertEqual(result.output, "")
    }

    func testHeldBackBytesAreReleasedCorrectlyAcrossChunks() {
        let result = run(["a\r", "\n.", ".b\r", "\n.", "\r", "\n"])
        XCTAssertTrue(result.receiver.isComplete)
        XCTAssertEqual(result.output, "a\r\n.b\r\n")
        XCTAssertFalse(result.receiver.sawBareLineEnding)
    }

    func testNotComplete() {
        let result = run(["a\r\n.\r"])
        XCTAssertFalse(result.receiver.isComplete)
        XCTAssertEqual(result.output, "a\r\n")
    }

    func testDotCRFollowedByOtherIsABareCR() {
        let result = run([".\rx\r\n.\r\n"])
        XCTAssertTrue(result.receiver.isComplete)
        XCTAssertTrue(result.receiver.sawBareLineEnding)
        XCTAssertTrue(result.receiver.isDoomed)
    }

    func testOutputStopsOnceTheMessageIsDoomed() {
        let result = run(["ab\ncd\r\n"])
        XCTAssertEqual(result.output, "ab")
        XCTAssertTrue(result.receiver.sawBareLineEnding)
        XCTAssertEqual(result.receiver.contentSize, 7)
    }

    func testNormalizeTurnsBareLineEndingsIntoCRLF() {
        let result = run(["a\nb\rc\r\r\nd\r\n.\r\n"], policy: .normalize)
        XCTAssertTrue(result.receiver.isComplete)
        XCTAssertTrue(result.receiver.sawBareLineEnding)
        XCTAssertFalse(result.receiver.isDoomed)
        XCTAssertEqual(result.output, "a\r\nb\r\nc\r\n\r\nd\r\n")
        XCTAssertEqual(result.receiver.contentSize, result.output.utf8.count)
    }

    /// A normalized bare line ending is not the start of a line: a dot after
    /// it is content (and not unstuffed), and "." CR LF after it does not
    /// end the data.
    func testNormalizedLineEndingIsNotALineStart() {
        for body in ["x\n.\r\n", "x\r.\r\n", "x\n..\r\n"] {
            let result = run([body + "MAIL FROM:<a@b.example>\r\n"], policy: .normalize)
            XCTAssertFalse(result.receiver.isComplete, body.debugDescription)
            XCTAssertEqual(result.rest, "", body.debugDescription)
        }
        let result = run(["x\n..\r\n.\r\n"], policy: .normalize)
        XCTAssertTrue(result.receiver.isComplete)
        XCTAssertEqual(result.output, "x\r\n..\r\n")
    }

    func testNULIsRefusedInBothPolicies() {
        for policy in [BareLineEndings.reject, .normalize] {
            var receiver = DataReceiver(bareLineEndings: policy)
            var output: [UInt8] = []
            _ = receiver.consume([0x61, 0x00, 0x62, 0x0D, 0x0A][...], into: &output)
            XCTAssertTrue(receiver.sawNUL)
            XCTAssertTrue(receiver.isDoomed)
            XCTAssertEqual(output, [0x61])
        }
    }
}
