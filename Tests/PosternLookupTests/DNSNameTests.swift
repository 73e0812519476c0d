import XCTest

@testable import PosternLookup

final class DNSNameTests: XCTestCase {
    func testHostNamesAreAcceptedAndCanonical() throws {
        XCTAssertEqual(try DNSName.canonical("Mail.Example.COM."), "mail.example.com")
        XCTAssertEqual(try DNSName.canonical("_dmarc.example-1.test"), "_dmarc.example-1.test")
        XCTAssertEqual(try DNSName.canonical("localhost"), "localhost")
        let longest = [
            String(repeating: "a", count: 63), String(repeating: "b", count: 63),
            String(repeating: "c", count: 63), String(repeating: "d", count: 61),
        ].joined(separator: ".")
        XCTAssertEqual(longest.count, 253)
        XCTAssertEqual(try DNSName.canonical(longest), longest)
        XCTAssertEqual(try DNSName.canonical(longest + "."), longest)
    }

    func testAnythingElseIsRefusedBeforeTheWire() {
        let bad = [
            "", ".", "..", "a..b", ".a", "a b", "a\r\nRCPT", "a\u{0}b", "exämple.com", "a/b", "a*b",
            String(repeating: "a", count: 64) + ".com",
            [
                String(repeating: "a", count: 63), String(repeating: "b", count: 63),
                String(repeating: "c", count: 63), String(repeating: "d", count: 62),
            ].joined(separator: "."),
        ]
        for name in bad {
            XCTAssertThrowsError(try DNSName.labels(of: name), name) { error in
                guard case .badName(let text) = error as? DNSError else { return XCTFail("\(error)") }
                XCTAssertFalse(text.contains("\r") || text.contains("\n") || text.contains("\u{0}"))
            }
        }
    }

    func testLabelsAreWrittenWithLengths() throws {
        XCTAssertEqual(DNSName.wire(try DNSName.labels(of: "ab.C")), [2, 97, 98, 1, 99, 0])
    }

    func testErrorsDoNotEchoControlCharacters() {
        XCTAssertEqual(DNSName.escapedForLog("a\r\n.b"), "a\\013\\010.b")
    }
}
