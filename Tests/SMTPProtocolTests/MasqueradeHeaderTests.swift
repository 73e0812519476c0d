import XCTest

@testable import SMTPProtocol

/// Masquerading of a header section: only the domains of mailboxes in the
/// four sender fields change, every other byte stays.
final class MasqueradeHeaderTests: XCTestCase {
    private let masquerader = Masquerader(
        MasqueradeRules(
            masqueradeAs: "example.com", masqueradeDomains: [".example.com"], alwaysAddDomain: true,
            hostName: "whoopeejohn.example.com"))

    private func rewritten(_ section: String, _ masquerader: Masquerader? = nil) -> String {
        let output = (masquerader ?? self.masquerader).rewriteHeaderSection(Array(section.utf8))
        return String(decoding: output, as: UTF8.self)
    }

    /// Asserts that `field` (a sender field body) is left exactly as it is.
    private func assertUnchanged(_ body: String, file: StaticString = #filePath, line: UInt = #line) {
        let section = "From:\(body)\r\n"
        XCTAssertEqual(rewritten(section), section, file: file, line: line)
    }

    func testTheSeedExample() {
        XCTAssertEqual(
            rewritten("From: Bobo <bobo@host.example.com>\r\nSubject: hi\r\n"),
            "From: Bobo <bobo@example.com>\r\nSubject: hi\r\n")
    }

    func testTheFourSenderFieldsAnyCase() {
        let section =
            "from: a@h1.example.com\r\nSENDER: b@h2.example.com\r\nResent-From: c@h3.example.com\r\n"
            + "resent-sender : d@h4.example.com\r\n"
        XCTAssertEqual(
            rewritten(section),
            "from: a@example.com\r\nSENDER: b@example.com\r\nResent-From: c@example.com\r\n"
                + "resent-sender : d@example.com\r\n")
    }

    func testOtherFieldsAreByteIdentical() {
        let section =
            "To: bobo@host.example.com\r\nCc: x@h.example.com,\r\n\ty@h.example.com\r\nReply-To: r@h.example.com\r\n"
            + "X-From: bobo@host.example.com\r\nFrom-Address: bobo@host.example.com\r\nSubject: From: a@h.example.com\r\n"
            + "Received: from h.example.com by mail.example.com\r\n"
        XCTAssertEqual(rewritten(section), section)
    }

    func testRootIsExposed() {
        XCTAssertEqual(
            rewritten("From: root@host.example.com, bobo@host.example.com\r\n"),
            "From: root@host.example.com, bobo@example.com\r\n")
    }

    func testDisplayNamesAndCommentsAreNeverTouched() {
        XCTAssertEqual(
            rewritten("From: \"bobo@host.example.com\" (bobo@host.example.com) <bobo@host.example.com>\r\n"),
            "From: \"bobo@host.example.com\" (bobo@host.example.com) <bobo@example.com>\r\n")
        XCTAssertEqual(
            rewritten("From: bobo@host.example.com (Bobo (at bobo@host.example.com) \\) x@host.example.com)\r\n"),
            "From: bobo@example.com (Bobo (at bobo@host.example.com) \\) x@host.example.com)\r\n")
        XCTAssertEqual(
            rewritten("From: \"Bobo \\\"bobo@host.example.com\\\"\" <bobo@host.example.com>\r\n"),
            "From: \"Bobo \\\"bobo@host.example.com\\\"\" <bobo@example.com>\r\n")
    }

    func testEncodedWordDisplayNames() {
        XCTAssertEqual(
            rewritten("From: =?UTF-8?Q?J=C3=B6rg_Smith?= <j@h.example.com>\r\n"),
            "From: =?UTF-8?Q?J=C3=B6rg_Smith?= <j@example.com>\r\n")
        // RFC 2047 §5 allows no "@" in a phrase's encoded word: not an address list.
        assertUnchanged(" =?UTF-8?Q?bobo@host.example.com?= <j@h.example.com>")
    }

    func testGroups() {
        XCTAssertEqual(
            rewritten("From: Team: a@h.example.com, \"B\" <b@h.example.com>;, c@h.example.com\r\n"),
            "From: Team: a@example.com, \"B\" <b@example.com>;, c@example.com\r\n")
        XCTAssertEqual(rewritten("From: undisclosed-recipients:;\r\n"), "From: undisclosed-recipients:;\r\n")
    }

    func testFoldedFields() {
        XCTAssertEqual(
            rewritten("From: Bobo\r\n <bobo@host.example.com>,\r\n\tother@h2.example.com\r\nSubject: x\r\n"),
            "From: Bobo\r\n <bobo@example.com>,\r\n\tother@example.com\r\nSubject: x\r\n")
        XCTAssertEqual(
            rewritten("From: \"Bo\r\n bo\" (a\r\n comment) <bobo@host.example.com>\r\n"),
            "From: \"Bo\r\n bo\" (a\r\n comment) <bobo@example.com>\r\n")
    }

    func testObsoleteSyntax() {
        // Blanks inside the domain are part of it; the route is not the mailbox's domain.
        XCTAssertEqual(
            rewritten("From: <@relay.example.com,@r2.example.com:bobo@host . example.com>\r\n"),
            "From: <@relay.example.com,@r2.example.com:bobo@example.com>\r\n")
        XCTAssertEqual(
            rewritten("From: bobo . smith (c) @ host.example.com, , x@h.example.com,\r\n"),
            "From: bobo . smith (c) @ example.com, , x@example.com,\r\n")
        XCTAssertEqual(
            rewritten("From: John Q. Public <jqp@h.example.com>\r\n"), "From: John Q. Public <jqp@example.com>\r\n")
        // A comment inside the domain cannot survive a rewrite: left alone.
        assertUnchanged(" bobo@host(where).example.com")
    }

    func testQuotedLocalParts() {
        XCTAssertEqual(
            rewritten("From: \"bo bo\"@host.example.com, \"ro\\ot\"@host.example.com\r\n"),
            "From: \"bo bo\"@example.com, \"ro\\ot\"@host.example.com\r\n")
    }

    func testAlwaysAddDomainInFrom() {
        XCTAssertEqual(rewritten("From: bobo\r\n"), "From: bobo@example.com\r\n")
        XCTAssertEqual(rewritten("From: bobo (Bobo)\r\n"), "From: bobo@example.com (Bobo)\r\n")
        XCTAssertEqual(rewritten("From: Bobo <bobo>\r\n"), "From: Bobo <bobo@example.com>\r\n")
        XCTAssertEqual(rewritten("From: root\r\n"), "From: root@whoopeejohn.example.com\r\n")
        let plain = Masquerader(MasqueradeRules(alwaysAddDomain: true, hostName: "whoopeejohn"))
        XCTAssertEqual(rewritten("Sender: bobo\r\n", plain), "Sender: bobo@whoopeejohn\r\n")
        XCTAssertEqual(rewritten("Sender: bobo@h.example.com\r\n", plain), "Sender: bobo@h.example.com\r\n")
    }

    func testCaseAndTrailingDots() {
        XCTAssertEqual(rewritten("From: BoBo@HOST.EXAMPLE.COM.\r\n"), "From: BoBo@example.com\r\n")
        assertUnchanged(" bobo@EXAMPLE.Com.")
    }

    func testDomainLiteralsAndEmptyPathsAreLeftAlone() {
        assertUnchanged(" bobo@[192.0.2.1]")
        assertUnchanged(" <>")
        assertUnchanged("")
    }

    func testMalformedFieldsAreLeftUnchanged() {
        for body in [
            " Bobo <bobo@host.example.com",  // no ">"
            " bobo@host.example.com (unclosed",
            " \"unclosed <bobo@host.example.com>",
            " bobo@host.example.com <x@host.example.com>",
            " bobo@host.example.com@h.example.com",
            " Bobo Smith@host.example.com",
            " Team: a@host.example.com",  // group without ";"
            " T: U: a@host.example.com;;",  // nested group
            " bobo@host..example.com",
            " bobo@[1.2.3.4",
            " a@host.example.com) x",
            " a@host.example.com\\",
            " <a@host.example.com>>",
            " a@host.example.com;",
        ] {
            assertUnchanged(body)
        }
    }

    func testALongerDomainMayNotPushALinePast998() {
        let long = Masquerader(
            MasqueradeRules(masqueradeAs: String(repeating: "a", count: 60) + ".example", masqueradeDomains: [".h"]))
        let body = Array(repeating: "u@x.h", count: 100).joined(separator: ",")
        XCTAssertEqual(rewritten("From: \(body)\r\n", long), "From: \(body)\r\n")
        let folded = Array(repeating: "u@x.h", count: 100).joined(separator: ",\r\n ")
        XCTAssertNotEqual(rewritten("From: \(folded)\r\n", long), "From: \(folded)\r\n")
    }

    func testALineAlreadyOverTheLimitMayShrink() {
        let body = Array(repeating: "u@host.example.com", count: 100).joined(separator: ",")
        let expected = Array(repeating: "u@example.com", count: 100).joined(separator: ",")
        XCTAssertEqual(rewritten("From: \(body)\r\n"), "From: \(expected)\r\n")
    }

    func testSectionsWithoutSenderFieldsOrMasqueradingPassThrough() {
        let section = "Subject: x\r\n continued\r\nFrom: bobo@host.example.com\r\n"
        let off = Masquerader(MasqueradeRules())
        XCTAssertEqual(off.rewriteHeaderSection(Array(section.utf8)), Array(section.utf8))
        XCTAssertEqual(
            rewritten(section), "Subject: x\r\n continued\r\nFrom: bobo@example.com\r\n")
        XCTAssertEqual(rewritten(""), "")
        // A last line without CR LF, and a stray line that is not a field.
        XCTAssertEqual(rewritten("junk\r\nFrom: a@h.example.com"), "junk\r\nFrom: a@example.com")
    }

    func testASliceOfALargerBufferIsAccepted() {
        let buffer = Array("From: a@h.example.com\r\n\r\nbody".utf8)
        let section = buffer[..<23]
        XCTAssertEqual(
            String(decoding: masquerader.rewriteHeaderSection(section), as: UTF8.self), "From: a@example.com\r\n")
    }

    func testNonASCIIIsCarriedThrough() {
        XCTAssertEqual(
            rewritten("From: \"Jörg\" <jörg@hôst.example.com>, (ünïcode) ü@h.example.com\r\n"),
            "From: \"Jörg\" <jörg@example.com>, (ünïcode) ü@example.com\r\n")
    }
}
