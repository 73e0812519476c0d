import PosternCore
import XCTest

@testable import PosternLookup

final class SenderLoginMapTests: XCTestCase {
    private let text = """
        # sender             logins
        alice@example.test   alice
        Shared@Example.Test  alice, bob
        @example.org         carol,dave  erin

        @Example.Test        postmaster
        """

    private func parse(_ text: String) -> (SenderLoginMap, [MapProblem]) {
        SenderLoginMap.parse(text: text, file: "/etc/postern/sender_logins")
    }

    func testExactAddressThenDomain() {
        let (map, problems) = parse(text)
        XCTAssertEqual(problems, [])
        XCTAssertEqual(map.count, 4)
        XCTAssertEqual(map.owners(of: "alice@example.test"), ["alice"])
        XCTAssertEqual(map.owners(of: "shared@example.test"), ["alice", "bob"])
        // Not listed itself: its domain's entry applies.
        XCTAssertEqual(map.owners(of: "other@example.test"), ["postmaster"])
        XCTAssertEqual(map.owners(of: "x@example.org"), ["carol", "dave", "erin"])
        XCTAssertNil(map.owners(of: "x@example.net"))
        XCTAssertNil(map.owners(of: "no-domain"))
    }

    func testComparisonsIgnoreCaseAndBrackets() {
        let (map, _) = parse(text)
        XCTAssertTrue(map.allows(login: "ALICE", sender: "<Alice@EXAMPLE.test>"))
        XCTAssertTrue(map.allows(login: "Bob", sender: "SHARED@example.test"))
        XCTAssertTrue(map.allows(login: "erin", sender: "anyone@Example.Org."))
        // An exact entry is final: the domain's owner does not own alice's address.
        XCTAssertFalse(map.allows(login: "postmaster", sender: "alice@example.test"))
        XCTAssertFalse(map.allows(login: "bob", sender: "alice@example.test"))
    }

    func testDecisionAllowsNullSenderAndRejectsOthersWith553() {
        let (map, _) = parse(text)
        XCTAssertEqual(map.decision(sender: "", login: "mallory"), .accept)
        XCTAssertEqual(map.decision(sender: "<>", login: "mallory"), .accept)
        XCTAssertEqual(map.decision(sender: "alice@example.test", login: "alice"), .accept)
        XCTAssertEqual(
            map.decision(sender: "alice@example.test", login: "bob"),
            .reject(
                code: 553, enhanced: "5.7.1",
                text: "<alice@example.test>: Sender address rejected: not owned by user bob"))
        XCTAssertEqual(
            map.decision(sender: "x@unlisted.test", login: "alice"),
            .reject(
                code: 553, enhanced: "5.7.1",
                text: "<x@unlisted.test>: Sender address rejected: not owned by user alice"
            ))
    }

    func testRejectionEscapesTheLogin() {
        let (map, _) = parse(text)
        guard case .reject(_, _, let text) = map.decision(sender: "alice@example.test", login: "ev\u{1B}[1mil\r\nx\\")
        else { return XCTFail("must reject") }
        XCTAssertTrue(text.hasSuffix("not owned by user ev\\x1B[1mil\\x0D\\x0Ax\\x5C"), text)
        XCTAssertFalse(text.utf8.contains { $0 < 0x20 || $0 >= 0x7F })
    }

    func testBadLinesAreReportedAndTheRestApplies() {
        let (map, problems) = parse(
            """
            alice@example.test
            not-an-address alice
            @ alice
            @bad..domain alice
            bob@example.test bob
            bob@example.test robert
            """)
        XCTAssertEqual(problems.map(\.line), [1, 2, 3, 4, 6])
        XCTAssertEqual(problems.map(\.severity), [.error, .error, .error, .error, .warning])
        XCTAssertTrue(problems[0].description.hasPrefix("/etc/postern/sender_logins:1: "), problems[0].description)
        XCTAssertEqual(map.owners(of: "bob@example.test"), ["bob", "robert"])
        XCTAssertNil(map.owners(of: "alice@example.test"))
    }

    func testEmptyMapOwnsNothing() {
        let (map, problems) = parse("# nothing\n\n   \n")
        XCTAssertEqual(problems, [])
        XCTAssertEqual(map.count, 0)
        XCTAssertEqual(
            map.decision(sender: "a@b.test", login: "a"),
            .reject(code: 553, enhanced: "5.7.1", text: "<a@b.test>: Sender address rejected: not owned by user a"))
    }
}
