import PosternCore
import XCTest

@testable import PosternAliases

final class AliasesParserTests: XCTestCase {
    private func parse(_ text: String) -> (AliasTable, [MapProblem]) {
        AliasesFile.parse(text: text, file: "aliases")
    }

    /// The targets of `name` in a file that must parse without problems.
    private func targets(
        _ text: String, _ name: String, file: StaticString = #filePath, line: UInt = #line
    ) -> [AliasTarget]? {
        let (table, problems) = parse(text)
        XCTAssertEqual(problems, [], file: file, line: line)
        return table.entry(named: name)?.targets
    }

    private func problems(_ text: String) -> [String] {
        parse(text).1.map(\.description)
    }

    // MARK: - Target forms

    func testLocalNamesAndAddresses() {
        XCTAssertEqual(
            targets("staff: alice, bob@example.org,carol\n", "staff"),
            [.name("alice"), .address("bob@example.org"), .name("carol")])
    }

    func testQuotedPipeKeepsCommasAndSpaces() {
        XCTAssertEqual(
            targets("vacation: \"|/usr/bin/vacation -a a,b alice\", alice\n", "vacation"),
            [.pipe(command: "/usr/bin/vacation -a a,b alice"), .name("alice")])
    }

    func testUnquotedPipe() {
        XCTAssertEqual(targets("log: |/usr/local/bin/logmail\n", "log"), [.pipe(command: "/usr/local/bin/logmail")])
    }

    func testFileAndMaildirPaths() {
        XCTAssertEqual(
            targets("keep: /var/spool/archive, /home/u/Maildir/, ~/Maildir/, ~/mbox\n", "keep"),
            [
                .file(path: "/var/spool/archive"), .maildir(path: "/home/u/Maildir/"), .maildir(path: "~/Maildir/"),
                .file(path: "~/mbox"),
            ])
    }

    func testQuotedFileWithSpace() {
        XCTAssertEqual(targets("keep: \"/var/mail archive/all\"\n", "keep"), [.file(path: "/var/mail archive/all")])
    }

    func testIncludeInAnyCase() {
        XCTAssertEqual(
            targets("list: :include:/etc/mail/list, :INCLUDE: /etc/mail/other\n", "list"),
            [.include(path: "/etc/mail/list"), .include(path: "/etc/mail/other")])
    }

    func testBackslashUser() {
        XCTAssertEqual(
            targets("alice: \\alice, alice@example.org\n", "alice"),
            [
                .verbatimUser("alice"), .address("alice@example.org"),
            ])
    }

    func testQuotedLocalPartAddressKeepsItsQuotes() {
        XCTAssertEqual(
            targets("js: \"john smith\"@example.org\n", "js"), [.address("\"john smith\"@example.org")])
    }

    // MARK: - Names and lines

    func testNamesAreCaseInsensitiveAndStoredLowerCase() {
        let (table, problems) = parse("Postmaster: Root\n")
        XCTAssertEqual(problems, [])
        XCTAssertEqual(table.names, ["postmaster"])
        XCTAssertEqual(table.entry(named: "POSTMASTER")?.targets, [.name("Root")])
        XCTAssertEqual(table.entry(named: "postmaster")?.name, "postmaster")
    }

    func testQuotedNameWithSpaceAndColon() {
        let (table, problems) = parse("\"Some Name: x\": alice\n")
        XCTAssertEqual(problems, [])
        XCTAssertEqual(table.entry(named: "some name: x")?.targets, [.name("alice")])
        XCTAssertEqual(table.entry(named: "\"SOME NAME: x\"")?.line, 1)
    }

    func testBlankBeforeColonIsAllowed() {
        XCTAssertEqual(targets("abuse : root\n", "abuse"), [.name("root")])
    }

    func testContinuationLines() {
        let text = "staff: alice,\n  bob,\n\tcarol\n# a comment between entries\nother: dave\n"
        XCTAssertEqual(targets(text, "staff"), [.name("alice"), .name("bob"), .name("carol")])
        XCTAssertEqual(targets(text, "other"), [.name("dave")])
    }

    func testCommentAndBlankLinesInsideAContinuedEntry() {
        let text = "staff: alice,\n\n  # bob left\n  carol\n"
        XCTAssertEqual(targets(text, "staff"), [.name("alice"), .name("carol")])
    }

    func testCommentsAndBlankLinesAreSkipped() {
        let (table, problems) = parse("# header\n\n   \n  # indented comment\nroot: alice\n")
        XCTAssertEqual(problems, [])
        XCTAssertEqual(table.count, 1)
    }

    func testCRLFFile() {
        let text = "staff: alice,\r\n  \"|/bin/cat -n\"\r\n# c\r\nroot: bob\r\n"
        XCTAssertEqual(targets(text, "staff"), [.name("alice"), .pipe(command: "/bin/cat -n")])
        XCTAssertEqual(targets(text, "root"), [.name("bob")])
    }

    func testEntriesRecordTheirFirstLine() {
        let (table, _) = parse("# x\na: b\n\nc: d,\n e\n")
        XCTAssertEqual(table.entry(named: "a")?.line, 2)
        XCTAssertEqual(table.entry(named: "c")?.line, 4)
    }

    func testEmptyItemsAndTrailingCommaAreSkipped() {
        XCTAssertEqual(targets("a: b,, c,\n", "a"), [.name("b"), .name("c")])
    }

    // MARK: - Problems

    func testLineWithoutColon() {
        let (table, problems) = parse("root alice\nok: bob\n")
        XCTAssertEqual(problems.map(\.description), ["aliases:1: no colon after the alias name"])
        XCTAssertEqual(problems.first?.severity, .error)
        XCTAssertEqual(table.names, ["ok"])
    }

    func testEmptyName() {
        XCTAssertEqual(problems("x: y\n: alice\n"), ["aliases:2: empty alias name"])
        XCTAssertEqual(problems("\"\": alice\n"), ["aliases:1: empty alias name"])
    }

    func testNameOver64Bytes() {
        let long = String(repeating: "n", count: 65)
        XCTAssertEqual(problems("\(long): alice\n").count, 1)
        XCTAssertTrue(problems("a: b\n\(long): alice\n").first?.hasPrefix("aliases:2: name \"nnnn") ?? false)
        XCTAssertEqual(problems("\(String(repeating: "n", count: 64)): alice\n"), [])
    }

    func testControlCharacterAndNul() {
        XCTAssertEqual(
            problems("a: b\nc: d\u{1}e\nf: g\n"), ["aliases:2: control character U+1 in line"])
        XCTAssertEqual(problems("a: b\u{0}\n"), ["aliases:1: NUL byte in line"])
        XCTAssertEqual(problems("a\u{7F}: b\n"), ["aliases:1: control character U+7F in line"])
    }

    func testControlCharacterInContinuationDropsTheEntry() {
        let (table, problems) = parse("staff: alice,\n  b\u{1B}ob\nother: carol\n")
        XCTAssertEqual(
            problems.map(\.description),
            [
                "aliases:2: control character U+1B in line; alias \"staff\" ignored"
            ])
        XCTAssertNil(table.entry(named: "staff"))
        XCTAssertNotNil(table.entry(named: "other"))
    }

    func testLineOver4096Bytes() {
        let long = "a: " + String(repeating: "b", count: 4094)
        XCTAssertEqual(problems(long + "\nc: d\n"), ["aliases:1: line is 4097 bytes long (limit 4096)"])
        XCTAssertEqual(problems(String(long.dropLast()) + "\n").count, 1)  // a 64+ byte name target
        XCTAssertEqual(problems("a: |" + String(repeating: "x", count: 4092) + "\n"), [])
    }

    func testContinuationWithoutEntry() {
        XCTAssertEqual(
            problems("  alice\nroot: bob\n"),
            ["aliases:1: continuation line (starts with a blank) with no alias before it"])
    }

    func testNoTargets() {
        XCTAssertEqual(problems("a:\nb:   \n c\n"), ["aliases:1: alias \"a\" has no targets; alias \"a\" ignored"])
    }

    func testUnterminatedQuote() {
        XCTAssertEqual(
            problems("a: \"|/bin/cat,\nb: c\n"), ["aliases:1: unterminated quote; alias \"a\" ignored"])
        XCTAssertEqual(problems("\"a: b\n"), ["aliases:1: no colon after the alias name"])
    }

    func testTargetsMissingACommaAreRefused() {
        XCTAssertEqual(
            problems("a: b c\n"),
            [
                "aliases:1: target \"b c\" contains a blank; separate targets with commas or quote it; alias \"a\" ignored"
            ])
        XCTAssertEqual(problems("a: b\n  c\n").count, 1)
    }

    func testBadTargetReportsItsOwnLine() {
        XCTAssertEqual(
            problems("a: b,\n  :include:relative\n"),
            ["aliases:2: :include: file \"relative\" is not an absolute path; alias \"a\" ignored"])
    }

    func testOtherBadTargets() {
        XCTAssertEqual(problems("a: |\n"), ["aliases:1: pipe target with no command; alias \"a\" ignored"])
        XCTAssertEqual(problems("a: :include:\n"), ["aliases:1: :include: with no file name; alias \"a\" ignored"])
        XCTAssertEqual(
            problems("a: @example.org\n"), ["aliases:1: invalid address \"@example.org\"; alias \"a\" ignored"])
        XCTAssertEqual(problems("a: bob@\n"), ["aliases:1: invalid address \"bob@\"; alias \"a\" ignored"])
        XCTAssertEqual(problems("a: \\\n"), ["aliases:1: backslash with no user name after it; alias \"a\" ignored"])
    }

    func testBadNames() {
        XCTAssertEqual(problems("a b: c\n"), ["aliases:1: name \"a b\" contains a blank; quote it"])
        XCTAssertEqual(problems("a@b: c\n"), ["aliases:1: name \"a@b\" has a domain; alias names are local parts"])
        XCTAssertEqual(
            problems("\"a\" x: c\n"), ["aliases:1: text \"x\" between the quoted name and the colon"])
    }

    func testDuplicateNameFirstWins() {
        let (table, problems) = parse("root: alice\n# x\nROOT: bob\n")
        XCTAssertEqual(table.entry(named: "root")?.targets, [.name("alice")])
        XCTAssertEqual(
            problems.map(\.description),
            ["aliases:3: duplicate alias \"root\" (first on line 1); the first one wins, this one is ignored"])
    }

    func testRestOfFileStillAppliesAfterProblems() {
        let (table, problems) = parse("bad\na: b\n\u{1}x: y\nc: d\n")
        XCTAssertEqual(problems.map(\.line), [1, 3])
        XCTAssertEqual(table.names, ["a", "c"])
    }

    // MARK: - Bounds

    func testThousandTargetsAllowedAndMoreRefused() {
        let thousand = (1...1000).map { "u\($0)" }
        let text = "list: " + thousand.joined(separator: ",\n  ") + "\n"
        XCTAssertEqual(targets(text, "list")?.count, 1000)
        let (table, problems) = parse(text.dropLast() + ",\n  u1001\nnext: a\n")
        XCTAssertNil(table.entry(named: "list"))
        XCTAssertNotNil(table.entry(named: "next"))
        XCTAssertEqual(
            problems.map(\.description),
            ["aliases:1001: more than 1000 targets; use an :include: file; alias \"list\" ignored"])
    }

    func testEntryLimit() {
        let limit = AliasesFile.maximumEntries
        var text = ""
        for index in 0..<limit { text += "a\(index): b\n" }
        text += "extra: b\nmore: c\n"
        let (table, problems) = parse(text)
        XCTAssertEqual(table.count, limit)
        XCTAssertNotNil(table.entry(named: "a\(limit - 1)"))
        XCTAssertNil(table.entry(named: "extra"))
        XCTAssertEqual(
            problems.map(\.description),
            ["aliases:\(limit + 1): more than \(limit) aliases; the rest of the file is ignored"])
    }

    func testEmptyFile() {
        let (table, problems) = parse("")
        XCTAssertEqual(table.count, 0)
        XCTAssertEqual(problems, [])
    }
}
