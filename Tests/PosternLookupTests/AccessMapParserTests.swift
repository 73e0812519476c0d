import XCTest

@testable import PosternLookup

final class AccessMapParserTests: XCTestCase {
    /// Parses `text` and returns the action the single untagged-or-tagged
    /// sender lookup finds for `address`.
    private func action(_ value: String, file: StaticString = #filePath, line: UInt = #line) -> AccessAction? {
        let (map, problems) = AccessMap.parse(text: "example.com \(value)\n", file: "access")
        XCTAssertEqual(problems, [], file: file, line: line)
        return map.lookupSender("someone@example.com")?.action
    }

    private func problems(_ text: String) -> [String] {
        AccessMap.parse(text: text, file: "access").1.map(\.description)
    }

    // MARK: - Actions

    func testKeywordActionsInAnyCase() {
        XCTAssertEqual(action("OK"), .ok)
        XCTAssertEqual(action("ok"), .ok)
        XCTAssertEqual(action("RELAY"), .relay)
        XCTAssertEqual(action("Relay"), .relay)
        XCTAssertEqual(action("REJECT"), .reject)
        XCTAssertEqual(action("reject"), .reject)
        XCTAssertEqual(action("DISCARD"), .discard)
        XCTAssertEqual(action("Discard"), .discard)
    }

    func testSkipIsParsedAndNeverReturnedAsAMatch() {
        let (map, problems) = AccessMap.parse(text: "example.com skip\n", file: "access")
        XCTAssertEqual(problems, [])
        XCTAssertEqual(map.count, 1)
        XCTAssertNil(map.lookupSender("a@example.com"))
    }

    func testErrorWithEnhancedCodeThenReplyCode() {
        XCTAssertEqual(
            action("ERROR:5.7.1:550 We do not accept mail from spammers"),
            .error(code: 550, enhanced: "5.7.1", text: "We do not accept mail from spammers"))
        XCTAssertEqual(
            action("ERROR:4.2.2:450 mailbox full"), .error(code: 450, enhanced: "4.2.2", text: "mailbox full"))
    }

    func testQuotedErrorForms() {
        XCTAssertEqual(
            action("ERROR:\"550 5.7.1 Go away\""), .error(code: 550, enhanced: "5.7.1", text: "Go away"))
        XCTAssertEqual(action("ERROR:\"5.7.2 Go away\""), .error(code: 550, enhanced: "5.7.2", text: "Go away"))
        XCTAssertEqual(action("ERROR:\"553 Go away\""), .error(code: 553, enhanced: "5.7.1", text: "Go away"))
        XCTAssertEqual(
            action("ERROR:5.7.0:\"554 quoted after the code\""),
            .error(code: 554, enhanced: "5.7.0", text: "quoted after the code"))
    }

    func testErrorDefaults() {
        XCTAssertEqual(action("ERROR:"), .error(code: 550, enhanced: "5.7.1", text: "Access denied"))
        XCTAssertEqual(action("error:550"), .error(code: 550, enhanced: "5.7.1", text: "Access denied"))
        XCTAssertEqual(action("Error:Just text"), .error(code: 550, enhanced: "5.7.1", text: "Just text"))
        XCTAssertEqual(action("ERROR:5.7.1 text"), .error(code: 550, enhanced: "5.7.1", text: "text"))
    }

    func testTemporaryCodeGetsATemporaryEnhancedCode() {
        XCTAssertEqual(action("ERROR:451 try later"), .error(code: 451, enhanced: "4.7.1", text: "try later"))
        XCTAssertEqual(action("ERROR:\"4.3.2 later\""), .error(code: 451, enhanced: "4.3.2", text: "later"))
    }

    func testBareReplyCodeIsAnError() {
        XCTAssertEqual(action("550 No thanks"), .error(code: 550, enhanced: "5.7.1", text: "No thanks"))
        XCTAssertEqual(action("\t550   spaced   out  "), .error(code: 550, enhanced: "5.7.1", text: "spaced   out"))
    }

    func testBadErrorForms() {
        XCTAssertEqual(
            problems("a.example ERROR:250 fine\n"),
            ["access:1: invalid reply code in \"ERROR:250 fine\" (expected 4xx or 5xx, D.S.N)"])
        XCTAssertEqual(problems("a.example ERROR:600 no\n").count, 1)
        XCTAssertEqual(problems("a.example ERROR:55 no\n").count, 1)
        XCTAssertEqual(problems("a.example ERROR:5.7.1:5500 no\n").count, 1)
        XCTAssertEqual(
            problems("a.example ERROR:4.7.1:550 mixed\n"),
            ["access:1: reply code 550 and enhanced code 4.7.1 disagree on the class"])
        XCTAssertEqual(
            problems("a.example ERROR:\"550 unterminated\n"),
            ["access:1: unterminated quote in \"ERROR:\"550 unterminated\""])
        XCTAssertEqual(
            problems("a.example ERROR:550 caf\u{E9}\n"), ["access:1: the reply text must be printable ASCII"])
    }

    // MARK: - Problems

    func testUnknownActionIsReportedWithItsLineAndTheRestIsKept() {
        let text = """
            # an access file
            example.com OK

            bad.example FOO
            good.example REJECT
            """
        let (map, problems) = AccessMap.parse(text: text, file: "access")
        XCTAssertEqual(problems.map(\.description), ["access:4: unknown action \"FOO\""])
        XCTAssertEqual(problems.first?.severity, .error)
        XCTAssertEqual(problems.first?.line, 4)
        XCTAssertEqual(map.count, 2)
        XCTAssertEqual(map.lookupSender("x@good.example")?.action, .reject)
        XCTAssertNil(map.lookupSender("x@bad.example"))
    }

    func testMisspeltKeywordIsNotGuessed() {
        XCTAssertEqual(problems("a.example RELEY\n"), ["access:1: unknown action \"RELEY\""])
        XCTAssertEqual(problems("a.example OK please\n"), ["access:1: unknown action \"OK please\""])
    }

    func testMissingActionAndBadKeys() {
        let text = """
            lonely.example
            bad..example OK
            256.1.1.1 RELAY
            10.1.2.3.4 RELAY
            Connect:user@example.com OK
            @example.com REJECT
            To:<> REJECT
            2001:db8::1 RELAY
            IPv6:2001:db8:::1 RELAY
            [300.1.1.1] OK
            bad_char!.example OK
            Connect: OK
            """
        XCTAssertEqual(
            problems(text),
            [
                "access:1: no action for key \"lonely.example\"",
                "access:2: invalid host or domain name \"bad..example\"",
                "access:3: invalid IP address or prefix \"256.1.1.1\"",
                "access:4: invalid IP address or prefix \"10.1.2.3.4\"",
                "access:5: address key \"user@example.com\" applies only to From: and To:",
                "access:6: invalid address key \"@example.com\" (use user@domain, user@ or the domain alone)",
                "access:7: key \"<>\" (the null sender) applies only to From:",
                "access:8: IPv6 key \"2001:db8::1\" must be written IPv6:2001:db8::1",
                "access:9: invalid IP address or prefix \"IPv6:2001:db8:::1\"",
                "access:10: invalid IP address or prefix \"[300.1.1.1]\"",
                "access:11: invalid host or domain name \"bad_char!.example\"",
                "access:12: empty key",
            ])
    }

    func testForeignSendmailTagsAreWarnedAboutAndIgnored() {
        let (map, problems) = AccessMap.parse(
            text: "Spam:abuse@ FRIEND\nGreetPause:192.168 0\nexample.com OK\n", file: "/etc/postern/access")
        XCTAssertEqual(
            problems.map(\.description),
            [
                "/etc/postern/access:1: warning: \"Spam:\" entries are not supported; line ignored",
                "/etc/postern/access:2: warning: \"GreetPause:\" entries are not supported; line ignored",
            ])
        XCTAssertEqual(problems.map(\.severity), [.warning, .warning])
        XCTAssertEqual(map.count, 1)
    }

    func testDuplicateKeyLastWinsWithAWarning() {
        let text = "example.com OK\nFrom:example.com RELAY\nEXAMPLE.COM. REJECT\n"
        let (map, problems) = AccessMap.parse(text: text, file: "access")
        XCTAssertEqual(
            problems.map(\.description),
            ["access:3: warning: duplicate key \"EXAMPLE.COM.\" (also on line 1); the last one wins"])
        XCTAssertEqual(map.count, 2)
        XCTAssertEqual(map.lookupRecipient("a@example.com")?.action, .reject)
        XCTAssertEqual(map.lookupSender("a@example.com")?.action, .relay)
    }

    func testDuplicateIPKeysAreFoundThroughDifferentSpellings() {
        let text = "IPv6:2001:db8::1 OK\n[IPv6:2001:0DB8:0:0:0:0:0:1] REJECT\n010.0.0.1 OK\n10.0.0.1 RELAY\n"
        let (map, problems) = AccessMap.parse(text: text, file: "access")
        XCTAssertEqual(problems.map(\.line), [2, 4])
        XCTAssertEqual(problems.map(\.severity), [.warning, .warning])
        XCTAssertEqual(map.lookupClient(ip: "2001:db8::1", hostname: nil)?.action, .reject)
        XCTAssertEqual(map.lookupClient(ip: "10.0.0.1", hostname: nil)?.action, .relay)
    }

    // MARK: - Layout

    func testCommentsBlankLinesWhitespaceAndCRLF() {
        let text =
            "# comment\r\n\r\n   \t\r\n  # indented comment\r\n\tindented.example\t\tREJECT  \r\nmixed.example \t OK\r\n"
        let (map, problems) = AccessMap.parse(text: text, file: "access")
        XCTAssertEqual(problems, [])
        XCTAssertEqual(map.count, 2)
        XCTAssertEqual(map.lookupSender("a@indented.example")?.action, .reject)
        XCTAssertEqual(map.lookupSender("a@mixed.example")?.action, .ok)
        XCTAssertEqual(map.lookupSender("a@mixed.example")?.line, 6)
    }

    func testLoneCarriageReturnAtTheEndIsBlank() {
        let (map, problems) = AccessMap.parse(text: "example.com REJECT\r", file: "access")
        XCTAssertEqual(problems, [])
        XCTAssertEqual(map.lookupSender("a@example.com")?.action, .reject)
    }

    func testHashInsideAValueIsText() {
        XCTAssertEqual(action("ERROR:550 spammer #42"), .error(code: 550, enhanced: "5.7.1", text: "spammer #42"))
    }

    func testTagsAreCaseInsensitive() {
        let text = "CONNECT:192.0.2.1 REJECT\nfrom:a.example REJECT\ntO:b.example RELAY\n"
        let (map, problems) = AccessMap.parse(text: text, file: "access")
        XCTAssertEqual(problems, [])
        XCTAssertEqual(map.lookupClient(ip: "192.0.2.1", hostname: nil)?.tag, .connect)
        XCTAssertEqual(map.lookupSender("x@a.example")?.tag, .from)
        XCTAssertEqual(map.lookupRecipient("x@b.example")?.tag, .to)
        XCTAssertNil(map.lookupRecipient("x@a.example"))
        XCTAssertNil(map.lookupSender("x@b.example"))
    }

    func testEveryKeyShape() {
        let text = """
            192.0.2.1 OK
            198.51.100 OK
            10 OK
            IPv6:2001:db8::5 OK
            IPv6:2001:db8 OK
            [203.0.113.4] OK
            [IPv6:2001:db8::6] OK
            example.com OK
            .example.net OK
            From:user@example.org OK
            To:user@[192.0.2.9] OK
            From:user@ OK
            From:<> OK
            """
        let (map, problems) = AccessMap.parse(text: text, file: "access")
        XCTAssertEqual(problems, [])
        XCTAssertEqual(map.count, 13)
    }

    func testEmptyTextIsAnEmptyMap() {
        let (map, problems) = AccessMap.parse(text: "", file: "access")
        XCTAssertEqual(map.count, 0)
        XCTAssertEqual(problems, [])
        XCTAssertNil(map.lookupClient(ip: "192.0.2.1", hostname: "a.example"))
    }

    func testGarbageNeverCrashesAndEveryBadLineIsReported() {
        let pieces = [
            "a", "Connect:", "From:", "To:", "IPv6:", "[", "]", ":", "@", ".", "1", "255", "256", "::", " ", "\t", "\"",
            "OK", "ERROR:", "5.7.1", "550", "#", "\r", "\u{0}", "é", "SKIP", "<>", "%", "!",
        ]
        var random = SplitMix64(seed: 42)
        var lines: [String] = []
        for _ in 0..<5_000 {
            let count = Int(random.next() % 10) + 1
            lines.append((0..<count).map { _ in pieces[Int(random.next() % UInt64(pieces.count))] }.joined())
        }
        let (map, problems) = AccessMap.parse(text: lines.joined(separator: "\n"), file: "access")
        XCTAssertGreaterThan(problems.count, 1_000)
        XCTAssertTrue(problems.allSatisfy { (1...lines.count).contains($0.line) })
        XCTAssertLessThan(map.count, lines.count)
        for line in lines.prefix(500) {
            _ = map.lookupClient(ip: line, hostname: line)
            _ = map.lookupSender(line)
            _ = map.lookupRecipient(line)
        }
    }
}
