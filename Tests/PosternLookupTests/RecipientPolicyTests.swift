import PosternIPC
import XCTest

@testable import PosternLookup

final class RecipientPolicyTests: XCTestCase {
    private let policy = RecipientPolicy(
        localDomains: ["Example.Test", "other.test"], users: ["alice", "root", "Bob"])

    func testLocalUserInALocalDomainIsAccepted() {
        XCTAssertEqual(policy.decide("alice@example.test"), .recipientAccepted(localUser: "alice"))
        XCTAssertEqual(policy.decide("alice@EXAMPLE.TEST"), .recipientAccepted(localUser: "alice"))
        XCTAssertEqual(policy.decide("alice@other.test"), .recipientAccepted(localUser: "alice"))
    }

    func testLocalPartMatchesExactlyThenLowercased() {
        XCTAssertEqual(policy.decide("Bob@example.test"), .recipientAccepted(localUser: "Bob"))
        XCTAssertEqual(policy.decide("ALICE@example.test"), .recipientAccepted(localUser: "alice"))
    }

    func testUnknownUserIs550_511() {
        guard case .rejected(let status) = policy.decide("mallory@example.test") else { return XCTFail() }
        XCTAssertEqual(status.code, 550)
        XCTAssertEqual(status.enhanced, "5.1.1")
    }

    func testOtherDomainsAreRelayingDenied() {
        for address in ["alice@example.org", "alice@sub.example.test", "alice@example.test.evil"] {
            guard case .rejected(let status) = policy.decide(address) else { return XCTFail(address) }
            XCTAssertEqual(status.code, 550, address)
            XCTAssertEqual(status.enhanced, "5.7.1", address)
        }
    }

    func testPostmasterAlwaysResolves() {
        XCTAssertEqual(policy.decide("postmaster"), .recipientAccepted(localUser: "root"))
        XCTAssertEqual(policy.decide("PostMaster@example.test"), .recipientAccepted(localUser: "root"))
        XCTAssertEqual(policy.decide("MAILER-DAEMON@example.test"), .recipientAccepted(localUser: "root"))
    }

    func testPasswdParsingSkipsMalformedAndNISLines() {
        let text =
            "root:x:0:0:root:/root:/bin/bash\n+nis::::::\n-bad::::::\n:nouser:1:1::/:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\nbroken line\n"
        XCTAssertEqual(PasswdFile.userNames(Array(text.utf8)), ["root", "alice"])
    }
}
