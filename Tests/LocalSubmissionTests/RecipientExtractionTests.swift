import XCTest

@testable import LocalSubmission

final class RecipientExtractionTests: XCTestCase {
    private func recipients(_ header: String) throws -> [String] {
        try RecipientExtraction.recipients(in: HeaderSection(parsing: Array(header.utf8)))
    }

    private func list(_ value: String) throws -> [String] {
        try RecipientExtraction.addresses(of: HeaderField(name: "To", raw: Array("To:\(value)\r\n".utf8)))
    }

    private func assertMalformed(
        _ value: String, address: String, reason: String? = nil, file: StaticString = #filePath, line: UInt = #line
    ) {
        XCTAssertThrowsError(try list(value), file: file, line: line) { error in
            guard let error = error as? AddressListError else { return XCTFail("\(error)", file: file, line: line) }
            XCTAssertEqual(error.field, "To", file: file, line: line)
            XCTAssertEqual(error.address, address, file: file, line: line)
            if let reason { XCTAssertEqual(error.reason, reason, file: file, line: line) }
        }
    }

    func testToCcBccInOrder() throws {
        let header = "To: a@x, b@y\r\nSubject: s\r\nCc: c@z\r\nBcc: d@w\r\nFrom: f@x\r\n"
        XCTAssertEqual(try recipients(header), ["a@x", "b@y", "c@z", "d@w"])
    }

    func testResentFieldsWin() throws {
        let header = "To: a@x\r\nResent-From: r@x\r\nResent-To: b@y\r\nResent-Bcc: c@z\r\nCc: d@w\r\n"
        XCTAssertEqual(try recipients(header), ["b@y", "c@z"])
        XCTAssertEqual(try recipients("To: a@x\r\nResent-Date: now\r\n"), [])
    }

    func testDuplicatesRemovedDomainCaseInsensitive() throws {
        XCTAssertEqual(
            try recipients("To: a@X.example, A@x.example\r\nCc: a@x.EXAMPLE, root, root\r\n"),
            ["a@X.example", "A@x.example", "root"])
    }

    func testFoldedField() throws {
        XCTAssertEqual(try recipients("To: a@x,\r\n b@y,\r\n\tc@z\r\n"), ["a@x", "b@y", "c@z"])
    }

    func testDisplayNamesAndAngles() throws {
        XCTAssertEqual(try list(" Alice Smith <alice@x>, \"Smith, Bob\" <bob@y>"), ["alice@x", "bob@y"])
        XCTAssertEqual(try list(" John Q. Public <jqp@x>"), ["jqp@x"])
        XCTAssertEqual(try list(" =?UTF-8?B?w6k=?= <e@x>"), ["e@x"])
        XCTAssertEqual(try list(" Zo\u{EB} <z@x>"), ["z@x"])
        XCTAssertEqual(try list("<a@x>"), ["a@x"])
    }

    func testComments() throws {
        XCTAssertEqual(try list(" a@x (Alice (the (nested) one)), b@y (Bob\\) paren)"), ["a@x", "b@y"])
        XCTAssertEqual(try list(" (comment first) a @ x . example"), ["a@x.example"])
    }

    func testQuotedLocalPartsKept() throws {
        XCTAssertEqual(try list(" \"john smith\"@x, \"a\\\"b\"@y"), ["\"john smith\"@x", "\"a\\\"b\"@y"])
        XCTAssertEqual(try list(" <\"odd@local\"@x>"), ["\"odd@local\"@x"])
    }

    func testGroups() throws {
        XCTAssertEqual(try list(" undisclosed-recipients:;"), [])
        XCTAssertEqual(try list(" undisclosed-recipients:"), [])
        XCTAssertEqual(try list(" Team: a@x, Bob <b@y>;, c@z"), ["a@x", "b@y", "c@z"])
        XCTAssertEqual(try list(" Team: a@x, Bob <b@y>;"), ["a@x", "b@y"])
        XCTAssertEqual(try list(" Empty:;, d@w"), ["d@w"])
    }

    func testObsoleteSyntax() throws {
        XCTAssertEqual(try list(" <@relay.example,@other.example:u@x>"), ["u@x"])
        XCTAssertEqual(try list(" a@x,,b@y,"), ["a@x", "b@y"])
        XCTAssertEqual(try list(" a..b@docomo.example"), ["a..b@docomo.example"])
    }

    func testBareLocalPartsAndLiterals() throws {
        XCTAssertEqual(try list(" root, postmaster"), ["root", "postmaster"])
        XCTAssertEqual(try list(" <root>"), ["root"])
        XCTAssertEqual(try list(" u@[192.0.2.1]"), ["u@[192.0.2.1]"])
        XCTAssertEqual(try list(" first.last"), ["first.last"])
    }

    func testEmptyField() throws {
        XCTAssertEqual(try list(""), [])
        XCTAssertEqual(try list("   "), [])
    }

    func testMalformed() {
        assertMalformed(" a@x, John Smith, b@y", address: "John Smith", reason: "words without a dot or angle brackets")
        assertMalformed(" a@x, <b@y", address: "<b@y", reason: "expected \">\"")
        assertMalformed(" <>", address: "<>", reason: "empty address <>")
        assertMalformed(" a@", address: "a@", reason: "malformed domain")
        assertMalformed(" a@x..y", address: "a@x..y", reason: "malformed domain")
        assertMalformed(" @x", address: "@x", reason: "missing local part")
        assertMalformed(" a@x b@y", address: "a@x b@y", reason: "expected \",\"")
        assertMalformed(" \"unterminated@x", address: "\"unterminated@x", reason: "unterminated quoted string")
        assertMalformed(" a@x (open", address: "a@x (open", reason: "unterminated comment")
        assertMalformed(" a>b@x", address: "a>b@x")
        assertMalformed(" G: a@x, H: b@y;;", address: "H: b@y;;")
        assertMalformed(" a@x;", address: "a@x;", reason: "expected \",\"")
    }

    func testErrorDescriptionNamesFieldAndAddress() {
        XCTAssertThrowsError(try recipients("Cc: ok@x, bad@\r\n")) { error in
            XCTAssertEqual("\(error)", "Cc: malformed address \"bad@\": malformed domain")
        }
    }
}
