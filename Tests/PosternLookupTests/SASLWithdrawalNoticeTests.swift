import Logging
import XCTest

@testable import PosternLookup

/// A start logs an error about withdrawn mechanisms only when something
/// was withdrawn and a client could have been offered AUTH.
final class SASLWithdrawalNoticeTests: XCTestCase {
    func testNothingWithdrawnSaysNothing() {
        XCTAssertNil(SASLWithdrawalNotice.make(withdrawn: [], authCanBeOffered: true))
        XCTAssertNil(SASLWithdrawalNotice.make(withdrawn: [], authCanBeOffered: false))
    }

    func testWithdrawnWhileAuthCanBeOfferedIsAnError() throws {
        let notice = try XCTUnwrap(
            SASLWithdrawalNotice.make(withdrawn: ["SCRAM-SHA-256", "CRAM-MD5"], authCanBeOffered: true))
        XCTAssertEqual(notice.level, .error)
        XCTAssertTrue(notice.text.contains("SCRAM-SHA-256, CRAM-MD5: not offered"), notice.text)
    }

    func testWithdrawnWhileNoClientCanSeeAuthIsOnlyANote() throws {
        let notice = try XCTUnwrap(SASLWithdrawalNotice.make(withdrawn: ["CRAM-MD5"], authCanBeOffered: false))
        XCTAssertEqual(notice.level, .info)
        XCTAssertTrue(notice.text.contains("AUTH is not offered"), notice.text)
    }
}
