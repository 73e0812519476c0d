import XCTest

@testable import SMTPProtocol

final class SMTPReplyTests: XCTestCase {
    func testSingleLine() {
        XCTAssertEqual(SMTPReply(code: 250, enhanced: "2.1.0", text: "Ok").description, "250 2.1.0 Ok\r\n")
        XCTAssertEqual(SMTPReply(code: 220, enhanced: "", text: "mx ESMTP").description, "220 mx ESMTP\r\n")
        XCTAssertEqual(SMTPReply(code: 250, enhanced: "", text: "").description, "250\r\n")
    }

    func testMultiLineRepeatsTheEnhancedCode() {
        let reply = SMTPReply(code: 550, enhanced: "5.7.1", text: "first", additionalLines: ["second", "third"])
        XCTAssertEqual(reply.description, "550-5.7.1 first\r\n550-5.7.1 second\r\n550 5.7.1 third\r\n")
        XCTAssertEqual(reply.lines, ["first", "second", "third"])
    }

    func testLineBreaksInTextCannotForgeAReply() {
        let reply = SMTPReply(code: 550, enhanced: "5.1.1", text: "no\r\n250 Ok\u{0}\u{E9}")
        XCTAssertEqual(reply.description, "550 5.1.1 no??250 Ok???\r\n")
    }

    func testFailureClassification() {
        XCTAssertFalse(SMTPReply(code: 354, enhanced: "", text: "go").isFailure)
        XCTAssertTrue(SMTPReply(code: 452, enhanced: "4.5.3", text: "x").isFailure)
    }
}
