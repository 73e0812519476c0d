import XCTest

@testable import PosternLookup

/// The listener's claims of an authenticated login count only for logins
/// that really succeeded in this lookup, recently.
final class AuthenticatedLoginsTests: XCTestCase {
    func testOnlyLoginsSeenHereAndRecentlyCount() {
        let logins = AuthenticatedLogins()
        XCTAssertFalse(logins.isKnown("alice", now: 100))
        logins.record("alice", now: 100)
        XCTAssertTrue(logins.isKnown("alice", now: 200))
        XCTAssertFalse(logins.isKnown("Alice", now: 200))
        XCTAssertFalse(logins.isKnown("mallory", now: 200))
        XCTAssertFalse(logins.isKnown("alice", now: 100 + AuthenticatedLogins.lifetime + 1))
    }
}
