import XCTest

@testable import LocalSubmission

final class HeaderSectionTests: XCTestCase {
    private func section(_ text: String) -> HeaderSection { HeaderSection(parsing: Array(text.utf8)) }

    func testParsesFieldsAndRendersByteExact() {
        let text = "From: a@x\r\nSubject: one\r\n\ttwo\r\nX-Empty:\r\nObs-Name  : v\r\n"
        let header = section(text)
        XCTAssertEqual(header.fields.map(\.name), ["From", "Subject", "X-Empty", "Obs-Name"])
        XCTAssertEqual(header.rendered, Array(text.utf8))
        XCTAssertEqual(header.length, text.utf8.count)
        XCTAssertEqual(String(decoding: header.fields[1].unfoldedValue, as: UTF8.self), " one\ttwo")
    }

    func testEndsAtEmptyLineOrNonField() {
        let header = section("A: 1\r\n\r\nB: 2\r\n")
        XCTAssertEqual(header.fields.map(\.name), ["A"])
        XCTAssertEqual(header.length, 6)
        let stray = section("A: 1\r\nnot a field\r\nB: 2\r\n")
        XCTAssertEqual(stray.fields.map(\.name), ["A"])
        XCTAssertEqual(stray.length, 6)
        XCTAssertEqual(section(" leading blank: x\r\n").fields, [])
        XCTAssertEqual(section(": no name\r\n").fields, [])
    }

    func testLFOnlyLines() {
        let header = section("A: 1\n b\nC: 2\n")
        XCTAssertEqual(header.fields.map(\.name), ["A", "C"])
        XCTAssertEqual(header.rendered, Array("A: 1\n b\nC: 2\n".utf8))
    }

    func testRemovingBlindCopiesWithFolding() {
        let text =
            "To: a@x\r\nBcc: secret@x,\r\n  other@y\r\nSubject: s\r\nRESENT-BCC: r@x\r\nbcc: again@x\r\nCc: c@x\r\n"
        let kept = section(text).removingBlindCopies
        XCTAssertEqual(String(decoding: kept.rendered, as: UTF8.self), "To: a@x\r\nSubject: s\r\nCc: c@x\r\n")
        XCTAssertEqual(kept.length, kept.rendered.count)
        XCTAssertEqual(section("Bcc-Like: x\r\n").removingBlindCopies.fields.count, 1)
    }

    func testMissingOriginatorFields() {
        XCTAssertEqual(section("Subject: x\r\n").missingOriginatorFields, [.from, .date, .messageID])
        XCTAssertEqual(
            section("from: a@x\r\nMESSAGE-ID: <1@x>\r\n").missingOriginatorFields.map(\.name), ["Date"])
        XCTAssertEqual(
            section("From: a\r\nDate: d\r\nMessage-Id: <m>\r\n").missingOriginatorFields, [])
    }

    func testAssembled() {
        let header = section("Subject: x\r\n")
        let added = [OriginatorFields.from(fullName: nil, address: "root@h")]
        XCTAssertEqual(
            String(decoding: header.assembled(adding: added), as: UTF8.self), "Subject: x\r\nFrom: root@h\r\n\r\n")
        XCTAssertEqual(HeaderSection(parsing: []).assembled(), Bytes.crlf)
    }

    func testFieldsNamed() {
        let header = section("To: a\r\nto: b\r\nCc: c\r\n")
        XCTAssertEqual(header.fields(named: "TO").count, 2)
        XCTAssertTrue(header.contains("cc"))
        XCTAssertFalse(header.contains("Bcc"))
    }

    // MARK: Qualification

    func testQualify() {
        XCTAssertEqual(AddressQualification.qualify("root", domain: "h.example"), "root@h.example")
        XCTAssertEqual(AddressQualification.qualify("<root>", domain: "h"), "<root@h>")
        XCTAssertEqual(AddressQualification.qualify("a@x", domain: "h"), "a@x")
        XCTAssertEqual(AddressQualification.qualify("<a@x>", domain: "h"), "<a@x>")
        XCTAssertEqual(AddressQualification.qualify("", domain: "h"), "")
        XCTAssertEqual(AddressQualification.qualify("<>", domain: "h"), "<>")
        XCTAssertEqual(AddressQualification.qualify("\"a@b\"", domain: "h"), "\"a@b\"@h")
        XCTAssertEqual(AddressQualification.qualify("\"a\\\"@b\"", domain: "h"), "\"a\\\"@b\"@h")
        XCTAssertEqual(AddressQualification.qualify("\"a@b\"@x", domain: "h"), "\"a@b\"@x")
    }
}
