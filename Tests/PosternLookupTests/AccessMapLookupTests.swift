import XCTest

@testable import PosternLookup

final class AccessMapLookupTests: XCTestCase {
    private func map(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> AccessMap {
        let (map, problems) = AccessMap.parse(text: text, file: "access")
        XCTAssertEqual(problems, [], file: file, line: line)
        return map
    }

    // MARK: - Clients

    func testLongestIPv4PrefixWins() {
        let access = map(
            """
            192.168 RELAY
            192.168.1 REJECT
            192.168.1.5 OK
            10 DISCARD
            """)
        XCTAssertEqual(access.lookupClient(ip: "192.168.1.5", hostname: nil)?.action, .ok)
        XCTAssertEqual(access.lookupClient(ip: "192.168.1.6", hostname: nil)?.action, .reject)
        XCTAssertEqual(access.lookupClient(ip: "192.168.2.1", hostname: nil)?.action, .relay)
        XCTAssertEqual(access.lookupClient(ip: "10.200.3.4", hostname: nil)?.action, .discard)
        XCTAssertNil(access.lookupClient(ip: "192.169.1.5", hostname: nil))
        XCTAssertNil(access.lookupClient(ip: "100.1.1.1", hostname: nil))
        XCTAssertNil(access.lookupClient(ip: "1.10.1.1", hostname: nil))
    }

    func testTaggedBeatsUntaggedAtTheSameKeyButNotALongerKey() {
        let access = map(
            """
            192.0.2 REJECT
            Connect:192.0.2 RELAY
            Connect:198.51 REJECT
            198.51.100.7 OK
            """)
        let same = access.lookupClient(ip: "192.0.2.1", hostname: nil)
        XCTAssertEqual(same?.action, .relay)
        XCTAssertEqual(same?.tag, .connect)
        XCTAssertEqual(same?.key, "Connect:192.0.2")
        XCTAssertEqual(same?.line, 2)
        let longer = access.lookupClient(ip: "198.51.100.7", hostname: nil)
        XCTAssertEqual(longer?.action, .ok)
        XCTAssertNil(longer?.tag)
        XCTAssertEqual(access.lookupClient(ip: "198.51.100.8", hostname: nil)?.action, .reject)
    }

    func testOtherTagsDoNotApplyToClients() {
        let access = map("From:192.0.2.1 REJECT\nTo:mail.example.com REJECT\n")
        XCTAssertNil(access.lookupClient(ip: "192.0.2.1", hostname: "mail.example.com"))
    }

    func testIPIsConsultedBeforeTheHostName() {
        let access = map("Connect:mail.example.com RELAY\n192.0.2 REJECT\n")
        XCTAssertEqual(access.lookupClient(ip: "192.0.2.1", hostname: "mail.example.com")?.action, .reject)
        XCTAssertEqual(access.lookupClient(ip: "203.0.113.1", hostname: "mail.example.com")?.action, .relay)
    }

    func testHostNameAndItsParentDomains() {
        let access = map(
            """
            example.com REJECT
            good.example.com OK
            com DISCARD
            """)
        XCTAssertEqual(access.lookupClient(ip: "203.0.113.1", hostname: "a.good.example.com")?.action, .ok)
        XCTAssertEqual(access.lookupClient(ip: "203.0.113.1", hostname: "good.example.com")?.action, .ok)
        XCTAssertEqual(access.lookupClient(ip: "203.0.113.1", hostname: "b.example.com")?.action, .reject)
        XCTAssertEqual(access.lookupClient(ip: "203.0.113.1", hostname: "example.com")?.action, .reject)
        XCTAssertEqual(access.lookupClient(ip: "203.0.113.1", hostname: "notexample.com")?.action, .discard)
        XCTAssertNil(access.lookupClient(ip: "203.0.113.1", hostname: "example.com.evil"))
        XCTAssertNil(access.lookupClient(ip: "203.0.113.1", hostname: nil))
    }

    func testHostNamesAreCaseInsensitiveAndTrailingDotIgnored() {
        let access = map("Mail.Example.COM RELAY\n")
        XCTAssertEqual(access.lookupClient(ip: "203.0.113.1", hostname: "MAIL.example.com.")?.action, .relay)
    }

    func testLeadingDotKeyMatchesOnlySubdomains() {
        let access = map(".example.org REJECT\n")
        XCTAssertEqual(access.lookupClient(ip: "203.0.113.1", hostname: "mx.example.org")?.action, .reject)
        XCTAssertNil(access.lookupClient(ip: "203.0.113.1", hostname: "example.org"))
        XCTAssertEqual(access.lookupSender("a@deep.mx.example.org")?.action, .reject)
        XCTAssertNil(access.lookupSender("a@example.org"))
    }

    func testAHostNameThatLooksLikeAnAddressNeverReachesIPEntries() {
        // A PTR record may claim any name, including "192.168.1.5".
        let access = map("192.168.1.5 RELAY\n192.168 RELAY\n")
        XCTAssertNil(access.lookupClient(ip: "203.0.113.9", hostname: "192.168.1.5"))
        XCTAssertNil(access.lookupClient(ip: "203.0.113.9", hostname: "192.168.1.5."))
        XCTAssertNil(access.lookupClient(ip: "203.0.113.9", hostname: "1.168.192.in-addr.arpa"))
    }

    func testInvalidClientAddressOnlyUsesTheHostName() {
        let access = map("10 REJECT\nhost.example RELAY\n")
        XCTAssertEqual(access.lookupClient(ip: "not-an-ip", hostname: "host.example")?.action, .relay)
        XCTAssertNil(access.lookupClient(ip: "10.1.1", hostname: nil))
        XCTAssertNil(access.lookupClient(ip: "", hostname: "bad host"))
    }

    // MARK: - SKIP

    func testSkipStopsTheShorterPrefixes() {
        let access = map("10 REJECT\n10.1 SKIP\n10.1.2.3 OK\n")
        XCTAssertNil(access.lookupClient(ip: "10.1.9.9", hostname: nil))
        XCTAssertEqual(access.lookupClient(ip: "10.2.9.9", hostname: nil)?.action, .reject)
        XCTAssertEqual(access.lookupClient(ip: "10.1.2.3", hostname: nil)?.action, .ok)
    }

    func testSkipEndsOnlyItsOwnSearch() {
        let access = map("10 REJECT\n10.1 SKIP\nConnect:host.example RELAY\n")
        XCTAssertEqual(access.lookupClient(ip: "10.1.2.3", hostname: "host.example")?.action, .relay)
    }

    func testTaggedSkipHidesTheUntaggedEntryAtTheSameKey() {
        let access = map("Connect:10.1 SKIP\n10.1 REJECT\n10 REJECT\n")
        XCTAssertNil(access.lookupClient(ip: "10.1.2.3", hostname: nil))
    }

    func testSkipStopsParentDomains() {
        let access = map("example.com REJECT\nConnect:sub.example.com SKIP\n")
        XCTAssertNil(access.lookupClient(ip: "203.0.113.1", hostname: "a.sub.example.com"))
        XCTAssertEqual(access.lookupClient(ip: "203.0.113.1", hostname: "a.other.example.com")?.action, .reject)
    }

    func testSenderDomainSkipStillConsultsTheLocalPart() {
        let access = map("From:example.com REJECT\nFrom:good.example.com SKIP\nFrom:bad@ REJECT\n")
        XCTAssertNil(access.lookupSender("x@good.example.com"))
        XCTAssertEqual(access.lookupSender("bad@good.example.com")?.action, .reject)
        XCTAssertEqual(access.lookupSender("x@other.example.com")?.action, .reject)
    }

    // MARK: - Senders and recipients

    func testSenderLookupOrder() {
        let access = map(
            """
            From:alice@example.com OK
            From:example.com REJECT
            From:spammer@ REJECT
            From:spammer@example.org OK
            """)
        XCTAssertEqual(access.lookupSender("alice@example.com")?.action, .ok)
        XCTAssertEqual(access.lookupSender("bob@example.com")?.action, .reject)
        XCTAssertEqual(access.lookupSender("bob@mail.example.com")?.action, .reject)
        XCTAssertEqual(access.lookupSender("spammer@example.net")?.action, .reject)
        XCTAssertEqual(access.lookupSender("spammer@example.org")?.action, .ok)
        XCTAssertEqual(access.lookupSender("spammer@example.com")?.action, .reject)
        XCTAssertEqual(access.lookupSender("spammer@example.com")?.kind, .hostOrDomain)
        XCTAssertNil(access.lookupSender("bob@example.org"))
    }

    func testFullAddressBeatsTheDomainWhateverTheTags() {
        let access = map("alice@example.com REJECT\nFrom:example.com OK\n")
        XCTAssertEqual(access.lookupSender("alice@example.com")?.action, .reject)
        XCTAssertEqual(access.lookupSender("alice@example.com")?.kind, .address)
        XCTAssertEqual(access.lookupSender("bob@example.com")?.action, .ok)
    }

    func testTaggedBeatsUntaggedForSenders() {
        let access = map("example.com REJECT\nFrom:example.com OK\n")
        XCTAssertEqual(access.lookupSender("a@example.com")?.action, .ok)
        XCTAssertEqual(access.lookupRecipient("a@example.com")?.action, .reject)
    }

    func testMailboxLookupsAreCaseInsensitive() {
        let access = map("From:Alice@Example.com REJECT\nTo:BOB@ DISCARD\n")
        XCTAssertEqual(access.lookupSender("ALICE@EXAMPLE.COM.")?.action, .reject)
        XCTAssertEqual(access.lookupRecipient("bob@anywhere.example")?.action, .discard)
    }

    func testBareLocalPartUsesTheLocalPartKey() {
        let access = map("To:root@ REJECT\nTo:example.com RELAY\n")
        XCTAssertEqual(access.lookupRecipient("root")?.action, .reject)
        XCTAssertEqual(access.lookupRecipient("root")?.kind, .localPart)
        XCTAssertNil(access.lookupRecipient("alice"))
    }

    func testNullSender() {
        let access = map("From:<> ERROR:\"553 5.7.1 No bounces here\"\n")
        XCTAssertEqual(
            access.lookupSender("")?.action, .error(code: 553, enhanced: "5.7.1", text: "No bounces here"))
        XCTAssertEqual(access.lookupSender("<>")?.kind, .nullSender)
        XCTAssertNil(access.lookupSender("a@example.com"))
    }

    func testQuotedLocalPartIsLookedUpUnquoted() {
        let access = map("From:john.smith@ REJECT\n")
        XCTAssertEqual(access.lookupSender("\"john.smith\"@example.com")?.action, .reject)
    }

    func testAddressLiteralDomainsUseIPKeys() {
        let access = map("From:192.0.2 REJECT\nTo:user@[203.0.113.5] RELAY\nTo:IPv6:2001:db8 OK\n")
        XCTAssertEqual(access.lookupSender("u@[192.0.2.7]")?.action, .reject)
        XCTAssertEqual(access.lookupRecipient("user@[203.0.113.5]")?.action, .relay)
        XCTAssertNil(access.lookupRecipient("other@[203.0.113.5]"))
        XCTAssertEqual(access.lookupRecipient("u@[IPv6:2001:db8::9]")?.action, .ok)
    }

    func testUnparsableAddressesMatchNothing() {
        let access = map("example.com REJECT\n")
        XCTAssertNil(access.lookupSender("a@bad..example.com"))
        XCTAssertNil(access.lookupRecipient("\"unterminated@example.com"))
    }

    // MARK: - IPv6

    func testIPv6ExactAndGroupPrefixes() {
        let access = map(
            """
            IPv6:2001:db8 RELAY
            IPv6:2001:db8:0:0:0:0:0:1 REJECT
            Connect:IPv6:2001:DB8:1 OK
            [IPv6:2001:db8::2] DISCARD
            IPv6:2001:db8:0:0:0:0:0:3 ERROR:"550 5.7.1 not you"
            """)
        XCTAssertEqual(access.lookupClient(ip: "2001:db8::1", hostname: nil)?.action, .reject)
        XCTAssertEqual(access.lookupClient(ip: "2001:0DB8:0000::0001", hostname: nil)?.action, .reject)
        XCTAssertEqual(access.lookupClient(ip: "[2001:db8::1]", hostname: nil)?.action, .reject)
        XCTAssertEqual(access.lookupClient(ip: "IPv6:2001:db8::1", hostname: nil)?.action, .reject)
        XCTAssertEqual(access.lookupClient(ip: "fe80::1%eth0", hostname: nil), nil)
        XCTAssertEqual(access.lookupClient(ip: "2001:db8::2", hostname: nil)?.action, .discard)
        XCTAssertEqual(
            access.lookupClient(ip: "2001:db8::3", hostname: nil)?.action,
            .error(code: 550, enhanced: "5.7.1", text: "not you"))
        XCTAssertEqual(access.lookupClient(ip: "2001:db8:1::5", hostname: nil)?.action, .ok)
        XCTAssertEqual(access.lookupClient(ip: "2001:db8:5::1", hostname: nil)?.action, .relay)
        XCTAssertNil(access.lookupClient(ip: "2001:db9::1", hostname: nil))
        XCTAssertNil(access.lookupClient(ip: "2001::db8", hostname: nil))
    }

    func testIPv4MappedClientsMatchIPv4Entries() {
        let access = map("192.0.2 REJECT\n")
        XCTAssertEqual(access.lookupClient(ip: "::ffff:192.0.2.1", hostname: nil)?.action, .reject)
        XCTAssertEqual(access.lookupClient(ip: "::FFFF:c000:0201", hostname: nil)?.action, .reject)
    }

    func testIPv6LoopbackKey() {
        let access = map("Connect:IPv6:::1 RELAY\nConnect:127.0.0.1 RELAY\n")
        XCTAssertEqual(access.lookupClient(ip: "::1", hostname: nil)?.action, .relay)
        XCTAssertEqual(access.lookupClient(ip: "0:0:0:0:0:0:0:1", hostname: nil)?.action, .relay)
        XCTAssertEqual(access.lookupClient(ip: "127.0.0.1", hostname: nil)?.action, .relay)
        XCTAssertNil(access.lookupClient(ip: "::2", hostname: nil))
    }
}
