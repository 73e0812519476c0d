import PosternCore
import XCTest

@testable import PosternAliases

/// The include error the fake file reader gives; its description is what
/// the expansion records.
struct AliasesFakeIncludeError: Error, CustomStringConvertible {
    var description: String
}

/// The paths the fake include reader was asked for, in order.
final class AliasesIncludeReadLog {
    var paths: [String] = []
}

/// Expands with a table parsed from `text` (which must have no problems),
/// a fixed set of local users and include files held in memory.
func aliasesExpand(
    _ recipient: String, _ text: String, users: Set<String> = ["root", "alice", "bob", "carol", "Dave"],
    files: [String: String] = [:], localDomains: Set<String> = [], reads: AliasesIncludeReadLog? = nil,
    file: StaticString = #filePath, line: UInt = #line
) -> AliasExpansion {
    let (table, problems) = AliasesFile.parse(text: text, file: "aliases")
    XCTAssertEqual(problems, [], file: file, line: line)
    return AliasExpander.expand(
        recipient, table: table,
        include: { path -> Result<String, AliasesFakeIncludeError> in
            reads?.paths.append(path)
            guard let content = files[path] else {
                return .failure(AliasesFakeIncludeError(description: "no such file"))
            }
            return .success(content)
        },
        isLocalUser: { users.contains($0) }, isLocalDomain: { localDomains.contains($0) })
}

final class AliasesExpanderTests: XCTestCase {
    func testPlainLocalUserIsNoAlias() {
        let expansion = aliasesExpand("alice", "root: bob\n")
        XCTAssertEqual(expansion.deliveries, [AliasDelivery(.localUser("alice"), alias: nil)])
    }

    func testUnknownRecipient() {
        XCTAssertEqual(aliasesExpand("nobody", "root: bob\n").destinations, [.unknown("nobody")])
    }

    func testEveryDestinationKindWithItsOrigin() {
        let text = """
            staff: alice, bob@example.org, "|/usr/bin/logger -t mail", /var/log/staff.mbox, /srv/staff/Maildir/
            """
        XCTAssertEqual(
            aliasesExpand("staff", text + "\n").deliveries,
            [
                AliasDelivery(.localUser("alice"), alias: "staff"),
                AliasDelivery(.remote("bob@example.org"), alias: "staff"),
                AliasDelivery(.pipe(command: "/usr/bin/logger -t mail"), alias: "staff"),
                AliasDelivery(.file(path: "/var/log/staff.mbox"), alias: "staff"),
                AliasDelivery(.maildir(path: "/srv/staff/Maildir/"), alias: "staff"),
            ])
    }

    func testNestedAliasesRecordTheInnermostAlias() {
        let text = "all: staff, carol\nstaff: ops, alice\nops: \"|/bin/ops\", bob\n"
        XCTAssertEqual(
            aliasesExpand("all", text).deliveries,
            [
                AliasDelivery(.pipe(command: "/bin/ops"), alias: "ops"),
                AliasDelivery(.localUser("bob"), alias: "ops"),
                AliasDelivery(.localUser("alice"), alias: "staff"),
                AliasDelivery(.localUser("carol"), alias: "all"),
            ])
    }

    func testSelfReferenceIsTheLocalUser() {
        XCTAssertEqual(
            aliasesExpand("root", "root: root\n").deliveries, [AliasDelivery(.localUser("root"), alias: "root")])
        XCTAssertEqual(
            aliasesExpand("alice", "alice: alice, bob\n").destinations, [.localUser("alice"), .localUser("bob")])
        XCTAssertEqual(aliasesExpand("ALICE", "Alice: ALICE\n").destinations, [.localUser("alice")])
    }

    func testBackslashDeliversWithoutExpanding() {
        let text = "alice: \\alice, \"|/usr/bin/vacation alice\"\nbob: \\alice\n"
        XCTAssertEqual(
            aliasesExpand("alice", text).destinations, [.localUser("alice"), .pipe(command: "/usr/bin/vacation alice")])
        XCTAssertEqual(aliasesExpand("bob", text).destinations, [.localUser("alice")])
        XCTAssertEqual(aliasesExpand("bob", "bob: \\nobody\n").destinations, [.unknown("nobody")])
    }

    func testSelfAndBackslashTogetherAreOneDestination() {
        XCTAssertEqual(aliasesExpand("alice", "alice: alice, \\alice\n").destinations, [.localUser("alice")])
    }

    func testTwoCycleLoop() {
        let expansion = aliasesExpand("a", "a: b\nb: a\n")
        XCTAssertEqual(expansion.outcome, .failure(.loop(["a", "b", "a"])))
        XCTAssertEqual(expansion.deliveries, [])
        XCTAssertEqual(AliasExpansionError.loop(["a", "b", "a"]).description, "alias loop: a -> b -> a")
        XCTAssertFalse(AliasExpansionError.loop(["a", "b", "a"]).isTemporary)
    }

    func testThreeCycleLoopFoundFromInsideTheCycle() {
        let text = "a: b, alice\nb: c\nc: a\nentry: bob, b\n"
        XCTAssertEqual(aliasesExpand("a", text).outcome, .failure(.loop(["a", "b", "c", "a"])))
        XCTAssertEqual(aliasesExpand("entry", text).outcome, .failure(.loop(["b", "c", "a", "b"])))
    }

    func testDiamondIsNoLoopAndIsDeduplicated() {
        let text = "top: left, right\nleft: shared, alice\nright: shared, alice\nshared: bob, \"|/bin/x\"\n"
        XCTAssertEqual(
            aliasesExpand("top", text).deliveries,
            [
                AliasDelivery(.localUser("bob"), alias: "shared"),
                AliasDelivery(.pipe(command: "/bin/x"), alias: "shared"),
                AliasDelivery(.localUser("alice"), alias: "left"),
            ])
    }

    func testDuplicatesAmongFinalTargetsAreRemoved() {
        let text = "list: alice, Alice, bob@example.org, bob@example.org, other\nother: alice, /tmp/f, /tmp/f\n"
        XCTAssertEqual(
            aliasesExpand("list", text).destinations,
            [.localUser("alice"), .remote("bob@example.org"), .file(path: "/tmp/f")])
    }

    /// `a1 -> a2 -> ... -> aN -> alice`.
    private func chain(_ count: Int) -> String {
        (1..<count).map { "a\($0): a\($0 + 1)\n" }.joined() + "a\(count): alice\n"
    }

    func testDepthLimit() {
        XCTAssertEqual(AliasExpander.maximumDepth, 20)
        XCTAssertEqual(aliasesExpand("a1", chain(20)).destinations, [.localUser("alice")])
        let tooDeep = aliasesExpand("a1", chain(21))
        XCTAssertEqual(tooDeep.outcome, .failure(.tooDeep((1...21).map { "a\($0)" })))
        XCTAssertFalse(AliasExpansionError.tooDeep([]).isTemporary)
    }

    func testDepthLimitHoldsForANameReachedAgainDeeper() {
        // a1 reaches a2 directly (short) and again through the 20-long chain;
        // a2's subtree is 19 deep, fine the first time, too deep the second.
        let text =
            chain(20).replacingOccurrences(of: "a1: a2\n", with: "") + "b: a2, c1\n"
            + (1...2).map { "c\($0): c\($0 + 1)\n" }.joined() + "c3: a2\n"
        let expansion = aliasesExpand("b", text)
        guard case .failure(.tooDeep(let path)) = expansion.outcome else {
            return XCTFail("expected tooDeep, got \(expansion.outcome)")
        }
        XCTAssertEqual(path, ["b", "c1", "c2", "c3", "a2"])
    }

    func testPostmasterAndMailerDaemonDefaultToRoot() {
        XCTAssertEqual(
            aliasesExpand("postmaster", "x: y\n", users: []).deliveries,
            [AliasDelivery(.localUser("root"), alias: "postmaster")])
        XCTAssertEqual(aliasesExpand("MAILER-DAEMON", "x: y\n").destinations, [.localUser("root")])
    }

    func testPostmasterFollowsRootsAliases() {
        let text = "root: alice, \"|/bin/page-admin\"\n"
        XCTAssertEqual(
            aliasesExpand("postmaster", text).deliveries,
            [
                AliasDelivery(.localUser("alice"), alias: "root"),
                AliasDelivery(.pipe(command: "/bin/page-admin"), alias: "root"),
            ])
        XCTAssertEqual(aliasesExpand("abuse", "abuse: postmaster\n" + text).destinations.count, 2)
    }

    func testDefinedPostmasterWins() {
        XCTAssertEqual(
            aliasesExpand("postmaster", "postmaster: bob\nroot: alice\n").destinations, [.localUser("bob")])
    }

    func testRootAliasedToPostmasterIsALoop() {
        XCTAssertEqual(
            aliasesExpand("postmaster", "root: postmaster\n").outcome,
            .failure(.loop(["postmaster", "root", "postmaster"])))
    }

    func testUnknownTargetsAreReportedNotDropped() {
        XCTAssertEqual(
            aliasesExpand("staff", "staff: alice, typo\n").destinations, [.localUser("alice"), .unknown("typo")])
    }

    func testCaseInsensitiveNamesAndCaseSensitiveUsers() {
        let text = "Staff: DAVE, Dave, ALICE\n"
        XCTAssertEqual(
            aliasesExpand("STAFF", text).destinations, [.unknown("DAVE"), .localUser("Dave"), .localUser("alice")])
        XCTAssertEqual(aliasesExpand("\"staff\"", text).destinations.count, 3)
    }

    func testLocalDomainAddressesAreExpandedAsNames() {
        let text = "alice: alice@mail.example, bob@mail.example, carol@elsewhere.example\nbob: carol\n"
        XCTAssertEqual(
            aliasesExpand("alice", text, localDomains: ["mail.example"]).destinations,
            [.localUser("alice"), .localUser("carol"), .remote("carol@elsewhere.example")])
        XCTAssertEqual(
            aliasesExpand("alice", text).destinations,
            [.remote("alice@mail.example"), .remote("bob@mail.example"), .remote("carol@elsewhere.example")])
        XCTAssertEqual(
            aliasesExpand("a", "a: b@local\nb: a@local\n", localDomains: ["local"]).outcome,
            .failure(.loop(["a", "b", "a"])))
    }
}
