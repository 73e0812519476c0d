import PosternCore
import XCTest

@testable import PosternAliases

final class AliasesIncludeTests: XCTestCase {
    func testIncludeListWithCommasNewlinesAndComments() {
        let files = ["/etc/mail/staff": "# staff\nalice, bob@example.org\n\n  carol\r\n\"|/bin/log staff\"\n"]
        let expansion = aliasesExpand("staff", "staff: :include:/etc/mail/staff\n", files: files)
        XCTAssertEqual(
            expansion.deliveries,
            [
                AliasDelivery(.localUser("alice"), alias: "staff", includeFile: "/etc/mail/staff"),
                AliasDelivery(.remote("bob@example.org"), alias: "staff", includeFile: "/etc/mail/staff"),
                AliasDelivery(.localUser("carol"), alias: "staff", includeFile: "/etc/mail/staff"),
                AliasDelivery(.pipe(command: "/bin/log staff"), alias: "staff", includeFile: "/etc/mail/staff"),
            ])
        XCTAssertEqual(expansion.problems, [])
        XCTAssertEqual(expansion.includeFailures, [])
    }

    func testIncludeOfAnInclude() {
        let files = [
            "/lists/outer": "alice, :include:/lists/inner\n",
            "/lists/inner": "bob, ops\n",
        ]
        let expansion = aliasesExpand("list", "list: :include:/lists/outer\nops: carol\n", files: files)
        XCTAssertEqual(
            expansion.deliveries,
            [
                AliasDelivery(.localUser("alice"), alias: "list", includeFile: "/lists/outer"),
                AliasDelivery(.localUser("bob"), alias: "list", includeFile: "/lists/inner"),
                AliasDelivery(.localUser("carol"), alias: "ops"),
            ])
    }

    func testIncludeLoop() {
        let files = ["/a": ":include:/b\n", "/b": "alice, :include:/a\n"]
        XCTAssertEqual(
            aliasesExpand("list", "list: :include:/a\n", files: files).outcome,
            .failure(.loop([":include:/a", ":include:/b", ":include:/a"])))
    }

    func testIncludeNamingTheAliasIsTheLocalUser() {
        let files = ["/home/alice/forward-list": "alice, bob\n"]
        XCTAssertEqual(
            aliasesExpand("alice", "alice: :include:/home/alice/forward-list\n", files: files).destinations,
            [.localUser("alice"), .localUser("bob")])
    }

    func testFailingIncludeWithOtherTargetsOnlyCostsItsBranch() {
        let expansion = aliasesExpand("list", "list: :include:/missing, alice\n")
        XCTAssertEqual(expansion.outcome, .success([AliasDelivery(.localUser("alice"), alias: "list")]))
        XCTAssertEqual(
            expansion.includeFailures, [AliasIncludeFailure(path: "/missing", reason: "no such file", alias: "list")])
    }

    func testFailingIncludeAloneFailsTheExpansionTemporarily() {
        let expansion = aliasesExpand("list", "list: :include:/missing, typo\n")
        XCTAssertEqual(expansion.outcome, .failure(.includeFailed(path: "/missing", reason: "no such file")))
        XCTAssertTrue(AliasExpansionError.includeFailed(path: "/x", reason: "y").isTemporary)
        XCTAssertEqual(
            AliasExpansionError.includeFailed(path: "/x", reason: "y").description, "cannot use :include:/x: y")
    }

    func testFailingNestedIncludeWithSiblings() {
        let files = ["/outer": ":include:/gone\nbob\n"]
        let expansion = aliasesExpand("list", "list: :include:/outer\n", files: files)
        XCTAssertEqual(expansion.destinations, [.localUser("bob")])
        XCTAssertEqual(expansion.includeFailures.map(\.path), ["/gone"])
    }

    func testIncludeProblemsAreReportedWithTheirFileAndLine() {
        let files = ["/lists/x": "alice\nbad target\n:include:relative\nbob\n"]
        let expansion = aliasesExpand("x", "x: :include:/lists/x\n", files: files)
        XCTAssertEqual(expansion.destinations, [.localUser("alice"), .localUser("bob")])
        XCTAssertEqual(
            expansion.problems.map(\.description),
            [
                "/lists/x:2: target \"bad target\" contains a blank; separate targets with commas or quote it",
                "/lists/x:3: :include: file \"relative\" is not an absolute path",
            ])
    }

    func testEmptyIncludeGivesNoDestinations() {
        XCTAssertEqual(
            aliasesExpand("x", "x: :include:/empty\n", files: ["/empty": "# nobody yet\n"]).outcome,
            .failure(.noDestinations("x")))
    }

    func testAnIncludeReachedTwiceIsReadOnce() {
        let reads = AliasesIncludeReadLog()
        let expansion = aliasesExpand(
            "all", "all: a, b\na: :include:/shared\nb: :include:/shared, bob\n", files: ["/shared": "alice\n"],
            reads: reads)
        XCTAssertEqual(expansion.destinations, [.localUser("alice"), .localUser("bob")])
        XCTAssertEqual(reads.paths, ["/shared"])
    }

    func testOversizedIncludeIsRefusedWhole() {
        let big = (1...1001).map { "u\($0)" }.joined(separator: "\n")
        let expansion = aliasesExpand(
            "x", "x: :include:/big, alice\n", users: ["alice", "u1"], files: ["/big": big])
        XCTAssertEqual(expansion.destinations, [.localUser("alice")])
        XCTAssertEqual(expansion.includeFailures.map(\.reason), ["more than 1000 targets; use an :include: file"])
        XCTAssertEqual(expansion.problems.map(\.line), [1001])
    }

    func testParseTargetListDirectly() {
        let (list, problems) = AliasesFile.parseTargetList(
            text: "a, \"b, c\"@example.org\n/var/x/\n\\d\n", file: "inc")
        XCTAssertEqual(
            try list.get(),
            [.name("a"), .address("\"b, c\"@example.org"), .maildir(path: "/var/x/"), .verbatimUser("d")])
        XCTAssertEqual(problems, [])
        let (bad, badProblems) = AliasesFile.parseTargetList(text: "a\u{0}b\n\"open\n", file: "inc")
        XCTAssertEqual(try bad.get(), [])
        XCTAssertEqual(badProblems.map(\.description), ["inc:1: NUL byte in line", "inc:2: unterminated quote"])
    }

    func testExpansionSizeIsBounded() {
        // 11 files of 1000 distinct remote addresses: more than 10,000 destinations.
        var files: [String: String] = [:]
        for file in 0..<11 {
            files["/l\(file)"] = (0..<1000).map { "u\(file)x\($0)@example.org" }.joined(separator: "\n")
        }
        let text = "big: " + (0..<11).map { ":include:/l\($0)" }.joined(separator: ", ") + "\n"
        XCTAssertEqual(aliasesExpand("big", text, files: files).outcome, .failure(.tooLarge(limit: 10_000)))
        let tenFiles = "big: " + (0..<10).map { ":include:/l\($0)" }.joined(separator: ", ") + "\n"
        XCTAssertEqual(aliasesExpand("big", tenFiles, files: files).destinations.count, 10_000)
    }

    func testNumberOfIncludeFilesOpenedIsBounded() {
        // /r and /r/N name 1000 files each, /r/N/M name alice: over 10,000
        // files in all, though never deeper than 4.
        func fanOut(_ path: String) -> String {
            guard path.filter({ $0 == "/" }).count < 3 else { return "alice\n" }
            return (0..<1000).map { ":include:\(path)/\($0)" }.joined(separator: "\n")
        }
        let expansion = AliasExpander.expand(
            "x", table: AliasesFile.parse(text: "x: :include:/r\n", file: "aliases").0,
            include: { path -> Result<String, AliasesFakeIncludeError> in .success(fanOut(path)) },
            isLocalUser: { _ in false })
        XCTAssertEqual(expansion.outcome, .failure(.tooLarge(limit: 10_000)))
    }
}
