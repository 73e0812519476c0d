import XCTest

@testable import PosternLookup

final class VirtusertableTests: XCTestCase {
    /// Parses `text`, failing the test on any problem.
    private func table(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> Virtusertable {
        let (table, problems) = Virtusertable.parse(text: text, file: "virtusertable")
        XCTAssertEqual(problems.map(\.description), [], file: file, line: line)
        return table
    }

    /// The problems of `text`, as `postern check` prints them.
    private func problems(_ text: String) -> [String] {
        Virtusertable.parse(text: text, file: "virtusertable").1.map(\.description)
    }

    // MARK: - Keys and values

    func testExactKeyToLocalUser() {
        let map = table("info@example.com\talice\n")
        XCTAssertEqual(map.lookup("info@example.com"), .local("alice"))
        XCTAssertNil(map.lookup("other@example.com"))
        XCTAssertNil(map.lookup("info@example.org"))
        XCTAssertEqual(map.count, 1)
    }

    func testExactKeyToRemoteAddress() {
        let map = table("sales@example.com   bob@example.org\n")
        XCTAssertEqual(map.lookup("sales@example.com"), .address("bob@example.org"))
        XCTAssertEqual(map.lookup("<sales@example.com>"), .address("bob@example.org"))
    }

    func testCatchAllToAddressAndLocalUser() {
        let map = table("@example.com  catchall@example.org\n@example.net  postmaster\n")
        XCTAssertEqual(map.lookup("anyone@example.com"), .address("catchall@example.org"))
        XCTAssertEqual(map.lookup("else@example.net"), .local("postmaster"))
    }

    func testExactEntryWinsOverCatchAll() {
        let map = table("@example.com catchall\ninfo@example.com alice\n")
        XCTAssertEqual(map.lookup("info@example.com"), .local("alice"))
        XCTAssertEqual(map.lookup("bob@example.com"), .local("catchall"))
    }

    func testPercentOneIsTheUserPart() {
        let map = table("@example.com  %1@example.org\n@example.net  %1\n")
        XCTAssertEqual(map.lookup("carol@example.com"), .address("carol@example.org"))
        XCTAssertEqual(map.lookup("dave@example.net"), .local("dave"))
    }

    func testPercentTwoAndThreeCarryTheDetail() {
        let map = table("@example.com %1%3@example.org\n@example.net %1-%2\n")
        XCTAssertEqual(map.lookup("carol+news@example.com"), .address("carol+news@example.org"))
        XCTAssertEqual(map.lookup("carol@example.com"), .address("carol@example.org"))
        XCTAssertEqual(map.lookup("dave+x@example.net"), .local("dave-x"))
    }

    func testPercentOneDropsTheDetailAsSendmailDoes() {
        let map = table("@example.com %1@example.org\n")
        XCTAssertEqual(map.lookup("carol+news@example.com"), .address("carol@example.org"))
    }

    // MARK: - Case and trailing dots

    func testDomainsAreCaseInsensitiveInKeysAndAddresses() {
        let map = table("info@Example.COM alice\n@OTHER.example bob\n")
        XCTAssertEqual(map.lookup("info@EXAMPLE.com"), .local("alice"))
        XCTAssertEqual(map.lookup("x@other.EXAMPLE"), .local("bob"))
    }

    func testTrailingDotsAreIgnored() {
        let map = table("info@example.com. alice\n@example.net. bob\n")
        XCTAssertEqual(map.lookup("info@example.com"), .local("alice"))
        XCTAssertEqual(map.lookup("info@example.com."), .local("alice"))
        XCTAssertEqual(map.lookup("x@example.net."), .local("bob"))
        XCTAssertEqual(map.domains, ["example.com", "example.net"])
    }

    func testLocalPartExactCaseFirstThenCaseInsensitive() {
        let map = table("Info@example.com upper\ninfo@example.com lower\nSales@example.com sales\n")
        XCTAssertEqual(map.lookup("Info@example.com"), .local("upper"))
        XCTAssertEqual(map.lookup("info@example.com"), .local("lower"))
        XCTAssertEqual(map.lookup("SALES@example.com"), .local("sales"))
        XCTAssertEqual(map.lookup("sales@example.com"), .local("sales"))
    }

    func testCaseInsensitiveFallbackKeepsTheFirstSpelling() {
        let map = table("Info@example.com first\nINFO@example.com second\n")
        XCTAssertEqual(map.lookup("info@example.com"), .local("first"))
        XCTAssertEqual(map.lookup("INFO@example.com"), .local("second"))
    }

    // MARK: - Plussed addresses

    func testPlussedAddressFallsBackToTheUser() {
        let map = table("alice@example.com alice\n@example.com catchall\n")
        XCTAssertEqual(map.lookup("alice+lists@example.com"), .local("alice"))
        XCTAssertEqual(map.lookup("bob+lists@example.com"), .local("catchall"))
    }

    func testExactPlussedKeyWinsThenAnyDetailThenUser() {
        let map = table(
            """
            alice+work@example.com work
            alice+*@example.com anydetail
            alice@example.com plain
            """)
        XCTAssertEqual(map.lookup("alice+work@example.com"), .local("work"))
        XCTAssertEqual(map.lookup("alice+home@example.com"), .local("anydetail"))
        XCTAssertEqual(map.lookup("alice@example.com"), .local("plain"))
    }

    func testDetailStartsAtTheFirstPlusAndALeadingPlusIsNoDetail() {
        let map = table("a@example.com first\n+x@example.com leading\n")
        XCTAssertEqual(map.lookup("a+b+c@example.com"), .local("first"))
        XCTAssertEqual(map.lookup("+x@example.com"), .local("leading"))
    }

    // MARK: - Errors

    func testErrorForms() {
        let map = table(
            """
            a@example.com error:5.1.1:550 User unknown
            b@example.com error:nouser User unknown
            c@example.com error:nouser 550 No such user here
            d@example.com error:tempfail Try later
            e@example.com ERROR:550 Go away
            f@example.com error:nohost
            g@example.com error:5.7.1:"550 Quoted text"
            h@example.com error:550 5.2.1 Mailbox disabled
            i@example.com error:4.2.2:452 Mailbox full
            """)
        XCTAssertEqual(map.lookup("a@example.com"), .error(enhanced: "5.1.1", code: 550, text: "User unknown"))
        XCTAssertEqual(map.lookup("b@example.com"), .error(enhanced: "5.1.1", code: 550, text: "User unknown"))
        XCTAssertEqual(map.lookup("c@example.com"), .error(enhanced: "5.1.1", code: 550, text: "No such user here"))
        XCTAssertEqual(map.lookup("d@example.com"), .error(enhanced: "4.2.0", code: 451, text: "Try later"))
        XCTAssertEqual(map.lookup("e@example.com"), .error(enhanced: "5.0.0", code: 550, text: "Go away"))
        XCTAssertEqual(map.lookup("f@example.com"), .error(enhanced: "5.1.2", code: 550, text: "Host unknown"))
        XCTAssertEqual(map.lookup("g@example.com"), .error(enhanced: "5.7.1", code: 550, text: "Quoted text"))
        XCTAssertEqual(map.lookup("h@example.com"), .error(enhanced: "5.2.1", code: 550, text: "Mailbox disabled"))
        XCTAssertEqual(map.lookup("i@example.com"), .error(enhanced: "4.2.2", code: 452, text: "Mailbox full"))
    }

    func testEverySymbolicErrorNameParses() {
        for name in SendmailErrorName.allCases {
            let map = table("x@example.com error:\(name.rawValue)\n")
            let expectedCode = name == .tempfail ? 451 : 550
            XCTAssertEqual(
                map.lookup("x@example.com"),
                .error(enhanced: name.enhancedCode, code: expectedCode, text: name.defaultText), name.rawValue)
        }
    }

    func testErrorOnCatchAllRefusesTheRestOfTheDomain() {
        let map = table("info@example.com alice\n@example.com error:nouser User unknown\n")
        XCTAssertEqual(map.lookup("info@example.com"), .local("alice"))
        XCTAssertEqual(map.lookup("x@example.com"), .error(enhanced: "5.1.1", code: 550, text: "User unknown"))
    }

    func testBadErrorSyntaxIsAProblem() {
        XCTAssertEqual(
            problems("a@example.com error:\n"),
            ["virtusertable:1: \"error:\" needs a reply (error:D.S.N:### text or error:nouser text)"])
        XCTAssertEqual(
            problems("a@example.com error:nosuchname text\n"),
            [
                "virtusertable:1: unknown error name \"nosuchname\" (use a D.S.N code or one of usage, nouser, "
                    + "nohost, unavailable, software, tempfail, protocol, config)"
            ])
        XCTAssertEqual(
            problems("a@example.com error:250 OK\n"),
            ["virtusertable:1: invalid reply code in \"250 OK\" (expected 4xx or 5xx, D.S.N)"])
        XCTAssertEqual(
            problems("a@example.com error:5.1.1:451 text\n"),
            ["virtusertable:1: reply code 451 and enhanced code 5.1.1 disagree on the class"])
        XCTAssertEqual(
            problems("a@example.com error:tempfail 550 text\n"),
            ["virtusertable:1: reply code 550 and enhanced code 4.2.0 disagree on the class"])
        XCTAssertEqual(
            problems("a@example.com error:\"550 open\n"), ["virtusertable:1: unterminated quote in \"\"550 open\""])
        XCTAssertEqual(
            problems("a@example.com error:550 caf\u{e9}\n"), ["virtusertable:1: the reply text must be printable ASCII"]
        )
        XCTAssertEqual(
            problems("a@example.com error:6.1.1:550 x\n"),
            ["virtusertable:1: invalid reply code in \"6.1.1:550 x\" (expected 4xx or 5xx, D.S.N)"])
    }

    // MARK: - Bad values

    func testUnsafeOrAmbiguousValuesAreProblems() {
        let text = """
            a@example.com
            b@example.com alice bob
            c@example.com alice,bob
            d@example.com |/usr/bin/prog
            e@example.com /var/mail/file
            f@example.com :include:/etc/list
            g@example.com host!user
            h@example.com %4@example.org
            i@example.com u%other@example.org
            j@example.com user@
            k@example.com -oQ/tmp
            l@example.com @a.example:u@b.example
            m@example.com "a@b"@example.org
            n@example.com alice
            """
        let (map, found) = Virtusertable.parse(text: text, file: "virtusertable")
        XCTAssertEqual(
            found.map(\.description),
            [
                "virtusertable:1: no value for key \"a@example.com\"",
                "virtusertable:2: \"alice bob\" is not a single address (lists belong in the aliases file)",
                "virtusertable:3: \"alice,bob\" is not a single address (lists belong in the aliases file)",
                "virtusertable:4: \"|/usr/bin/prog\": programs, files and :include: belong in the aliases file",
                "virtusertable:5: \"/var/mail/file\": programs, files and :include: belong in the aliases file",
                "virtusertable:6: \":include:/etc/list\": programs, files and :include: belong in the aliases file",
                "virtusertable:7: bang path \"host!user\" is not supported",
                "virtusertable:8: invalid % sequence in \"%4@example.org\" (only %1, %2 and %3)",
                "virtusertable:9: invalid % sequence in \"u%other@example.org\" (only %1, %2 and %3)",
                "virtusertable:10: invalid address \"user@\"",
                "virtusertable:11: invalid local user \"-oQ/tmp\"",
                "virtusertable:12: invalid address \"@a.example:u@b.example\"",
                "virtusertable:13: invalid address \"\"a@b\"@example.org\"",
            ])
        XCTAssertEqual(map.count, 1)
        XCTAssertEqual(map.lookup("n@example.com"), .local("alice"))
        XCTAssertNil(map.lookup("b@example.com"))
        XCTAssertTrue(found.allSatisfy { $0.severity == .error })
    }

    func testBadKeysAreProblems() {
        XCTAssertEqual(
            problems(
                "alice alice\nuser@ x\nuser@bad_domain! x\na@b@example.com x\n\"q\"@example.com x\n@192.0.2.1 x\n"),
            [
                "virtusertable:1: invalid key \"alice\" (use user@domain, user+*@domain or @domain)",
                "virtusertable:2: invalid key \"user@\" (use user@domain, user+*@domain or @domain)",
                "virtusertable:3: invalid key \"user@bad_domain!\" (use user@domain, user+*@domain or @domain)",
                "virtusertable:4: invalid key \"a@b@example.com\" (use user@domain, user+*@domain or @domain)",
                "virtusertable:5: invalid key \"\"q\"@example.com\" (use user@domain, user+*@domain or @domain)",
                "virtusertable:6: invalid key \"@192.0.2.1\" (use user@domain, user+*@domain or @domain)",
            ])
    }

    // MARK: - Results built from the recipient

    func testCatchAllRefusesARecipientThatWouldBecomeARouteOrAProgram() {
        let map = table("@example.com %1@example.org\n@example.net %1\n")
        let refused = VirtualResult.error(enhanced: "5.1.3", code: 553, text: "Bad destination mailbox address syntax")
        XCTAssertEqual(map.lookup("u%other.example@example.com"), refused)
        XCTAssertEqual(map.lookup("\"other!u\"@example.com"), refused)
        XCTAssertEqual(map.lookup("\"|cmd\"@example.net"), refused)
        XCTAssertEqual(map.lookup("-option@example.net"), refused)
        XCTAssertEqual(map.lookup("plain@example.net"), .local("plain"))
    }

    func testAddressesThatAreNotHostNamesMiss() {
        let map = table("@example.com catchall\n")
        XCTAssertNil(map.lookup("user@[192.0.2.1]"))
        XCTAssertNil(map.lookup("user"))
        XCTAssertNil(map.lookup(""))
        XCTAssertNil(map.lookup("user@"))
    }

    // MARK: - Domains, comments, duplicates

    func testDomainsListsEveryKeyDomain() {
        let map = table(
            """
            # virtual domains
            info@one.example alice

            @Two.Example. bob
            carol+*@three.example carol
            """)
        XCTAssertEqual(map.domains, ["one.example", "two.example", "three.example"])
    }

    func testBadLinesDoNotAddTheirDomain() {
        let (map, found) = Virtusertable.parse(text: "a@bad.example |prog\n", file: "virtusertable")
        XCTAssertEqual(found.count, 1)
        XCTAssertEqual(map.domains, [])
    }

    func testDuplicateKeyKeepsTheLastWithAWarning() {
        let (map, found) = Virtusertable.parse(
            text: "info@example.com alice\ninfo@EXAMPLE.com. bob\n", file: "virtusertable")
        XCTAssertEqual(
            found.map(\.description),
            ["virtusertable:2: warning: duplicate key \"info@example.com\" (also on line 1); the last one wins"])
        XCTAssertEqual(found.first?.severity, .warning)
        XCTAssertEqual(map.lookup("info@example.com"), .local("bob"))
        XCTAssertEqual(map.lookup("INFO@example.com"), .local("bob"))
    }

    func testEmptyTable() {
        let map = Virtusertable()
        XCTAssertNil(map.lookup("a@example.com"))
        XCTAssertEqual(map.domains, [])
        XCTAssertEqual(map.count, 0)
    }
}
