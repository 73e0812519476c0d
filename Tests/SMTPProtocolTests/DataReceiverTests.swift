import XCTest

@testable import SMTPProtocol

final class DataReceiverTests: XCTestCase {
    /// Feeds `chunks` one after another and returns the output and what was
    /// left after the terminator.
    private func run(
        _ chunks: [String], maxSize: Int = 1_000, maxHops: Int = 100
    ) -> (receiver: DataReceiver, output: String, rest: String) {
        var receiver = DataReceiver(maxMessageSize: maxSize, maxReceivedHeaders: maxHops)
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

    func testHopCounting() {
        let result = run(["Received: a\r\n X-Received: b\r\nreceived\t :c\r\nReceivedX: d\r\n\r\nReceived: e\r\n.\r\n"])
        XCTAssertEqual(result.receiver.receivedHeaderCount, 2)
        XCTAssertFalse(result.receiver.tooManyHops)
    }
}
