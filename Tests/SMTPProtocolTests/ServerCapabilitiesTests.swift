import XCTest

@testable import SMTPProtocol

final class ServerCapabilitiesTests: XCTestCase {
    private func capabilities(_ extensions: [String]) throws -> ServerCapabilities {
        var parser = SMTPReplyParser()
        parser.append(Array(ehloReply(extensions).utf8))
        let reply = try XCTUnwrap(try parser.nextReply())
        return ServerCapabilities(ehloReply: reply)
    }

    func testEverythingOffered() throws {
        let offered = try capabilities([
            "PIPELINING", "SIZE 10240000", "8BITMIME", "SMTPUTF8", "DSN", "CHUNKING", "STARTTLS",
            "ENHANCEDSTATUSCODES", "AUTH PLAIN LOGIN",
        ])
        var expected = ServerCapabilities()
        expected.esmtp = true
        expected.pipelining = true
        expected.sizeOffered = true
        expected.sizeLimit = 10_240_000
        expected.eightBitMIME = true
        expected.smtputf8 = true
        expected.dsn = true
        expected.chunking = true
        expected.startTLS = true
        expected.enhancedStatusCodes = true
        XCTAssertEqual(offered, expected)
    }

    func testKeywordsAreCaseInsensitiveAndTheGreetingLineIsNotAKeyword() throws {
        let offered = try capabilities(["pipelining", "StartTLS"])
        XCTAssertTrue(offered.pipelining)
        XCTAssertTrue(offered.startTLS)
        // A one-line EHLO reply offers nothing, whatever its text says.
        var parser = SMTPReplyParser()
        parser.append(Array("250 PIPELINING\r\n".utf8))
        let single = ServerCapabilities(ehloReply: try XCTUnwrap(try parser.nextReply()))
        XCTAssertTrue(single.esmtp)
        XCTAssertFalse(single.pipelining)
    }

    func testSizeForms() throws {
        XCTAssertEqual(try capabilities(["SIZE"]).sizeOffered, true)
        XCTAssertNil(try capabilities(["SIZE"]).sizeLimit)
        XCTAssertNil(try capabilities(["SIZE 0"]).sizeLimit)
        XCTAssertEqual(try capabilities(["SIZE 0"]).sizeOffered, true)
        XCTAssertEqual(try capabilities(["SIZE 52428800"]).sizeLimit, 52_428_800)
        // Too large for any message: offered, no limit.
        XCTAssertNil(try capabilities(["SIZE 99999999999999999999"]).sizeLimit)
        XCTAssertEqual(try capabilities(["SIZE 99999999999999999999"]).sizeOffered, true)
        for malformed in ["SIZE -1", "SIZE 12ab", "SIZE 1 2", "SIZE 999999999999999999999", "SIZE=100"] {
            let offered = try capabilities([malformed])
            XCTAssertFalse(offered.sizeOffered, malformed)
            XCTAssertNil(offered.sizeLimit, malformed)
        }
    }

    func testMalformedLinesAreIgnored() throws {
        let offered = try capabilities([
            "-PIPELINING", "8BIT_MIME", "", "   ", "DSN\u{80}", "AUTH=LOGIN", String(repeating: "X", count: 300),
            "CHUNKING",
        ])
        XCTAssertFalse(offered.pipelining)
        XCTAssertFalse(offered.eightBitMIME)
        XCTAssertFalse(offered.dsn)
        XCTAssertTrue(offered.chunking)
    }

    func testHELOOffersNothing() {
        XCTAssertFalse(ServerCapabilities.none.esmtp)
        XCTAssertFalse(ServerCapabilities.none.sizeOffered)
    }
}
