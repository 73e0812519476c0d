import XCTest

@testable import PosternLookup

final class MailertableTests: XCTestCase {
    private func table(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> Mailertable {
        let (table, problems) = Mailertable.parse(text: text, file: "mailertable")
        XCTAssertEqual(problems.map(\.description), [], file: file, line: line)
        return table
    }

    private func problems(_ text: String) -> [String] {
        Mailertable.parse(text: text, file: "mailertable").1.map(\.description)
    }

    /// The route a one-entry table gives `example.com` for `value`.
    private func route(_ value: String, file: StaticString = #filePath, line: UInt = #line) -> MailerRoute? {
        table("example.com \(value)\n", file: file, line: line).route(for: "example.com")
    }

    // MARK: - Keys and matching

    func testExactHostKeyMatchesOnlyThatHost() {
        let map = table("example.com smtp:mx.example.net\n")
        XCTAssertEqual(map.route(for: "example.com"), .smtp(host: "mx.example.net", port: nil, mxLookup: true))
        XCTAssertNil(map.route(for: "a.example.com"))
        XCTAssertNil(map.route(for: "example.org"))
    }

    func testDotDomainMatchesSubdomainsButNotTheDomainItself() {
        let map = table(".example.com relay:hub.example.net\n")
        let hub = MailerRoute.relay(host: "hub.example.net", port: nil, mxLookup: true)
        XCTAssertEqual(map.route(for: "a.example.com"), hub)
        XCTAssertEqual(map.route(for: "b.a.example.com"), hub)
        XCTAssertNil(map.route(for: "example.com"))
        XCTAssertNil(map.route(for: "notexample.com"))
    }

    func testLongestMatchWins() {
        let map = table(
            """
            .example.com smtp:outer.example.net
            a.example.com smtp:host-a.example.net
            .a.example.com smtp:under-a.example.net
            """)
        XCTAssertEqual(map.route(for: "a.example.com"), .smtp(host: "host-a.example.net", port: nil, mxLookup: true))
        XCTAssertEqual(
            map.route(for: "b.a.example.com"), .smtp(host: "under-a.example.net", port: nil, mxLookup: true))
        XCTAssertEqual(
            map.route(for: "c.b.a.example.com"), .smtp(host: "under-a.example.net", port: nil, mxLookup: true))
        XCTAssertEqual(map.route(for: "z.example.com"), .smtp(host: "outer.example.net", port: nil, mxLookup: true))
        XCTAssertNil(map.route(for: "example.com"))
    }

    func testLoneDotIsTheDefaultRoute() {
        let map = table(".  smtp:[smarthost.example.net]\nexample.com local:\n")
        let smart = MailerRoute.smtp(host: "smarthost.example.net", port: nil, mxLookup: false)
        XCTAssertEqual(map.route(for: "anything.example.org"), smart)
        XCTAssertEqual(map.route(for: "org"), smart)
        XCTAssertEqual(map.route(for: "example.com"), .local(user: nil))
        XCTAssertEqual(map.route(for: "a.example.com"), smart)
    }

    func testDomainsAndKeysAreCaseInsensitiveAndTrailingDotsIgnored() {
        let map = table("Example.COM. smtp:mx.example.net\n.Sub.Example.ORG. local:bob\n")
        XCTAssertEqual(map.route(for: "EXAMPLE.com"), .smtp(host: "mx.example.net", port: nil, mxLookup: true))
        XCTAssertEqual(map.route(for: "example.com."), .smtp(host: "mx.example.net", port: nil, mxLookup: true))
        XCTAssertEqual(map.route(for: "X.sub.example.org."), .local(user: "bob"))
    }

    func testNonHostNamesGetNoRouteEvenWithADefault() {
        let map = table(". smtp:smarthost.example.net\n")
        XCTAssertNil(map.route(for: "[192.0.2.1]"))
        XCTAssertNil(map.route(for: "192.0.2.1"))
        XCTAssertNil(map.route(for: ""))
        XCTAssertNil(map.route(for: "bad domain"))
    }

    // MARK: - Values

    func testLocalValues() {
        XCTAssertEqual(route("local:postmaster"), .local(user: "postmaster"))
        XCTAssertEqual(route("local:"), .local(user: nil))
        XCTAssertEqual(route("LOCAL:bob"), .local(user: "bob"))
    }

    func testErrorValues() {
        XCTAssertEqual(
            route("error:5.7.1:550 No mail for this host"),
            .error(enhanced: "5.7.1", code: 550, text: "No mail for this host"))
        XCTAssertEqual(
            route("error:nohost mail to this host is prohibited"),
            .error(enhanced: "5.1.2", code: 550, text: "mail to this host is prohibited"))
        XCTAssertEqual(
            route("error:4.4.1:451 Try later"), .error(enhanced: "4.4.1", code: 451, text: "Try later"))
    }

    func testSMTPValues() {
        XCTAssertEqual(route("smtp:mx.example.net"), .smtp(host: "mx.example.net", port: nil, mxLookup: true))
        XCTAssertEqual(route("esmtp:MX.Example.NET."), .smtp(host: "mx.example.net", port: nil, mxLookup: true))
        XCTAssertEqual(route("smtp:[mx.example.net]"), .smtp(host: "mx.example.net", port: nil, mxLookup: false))
        XCTAssertEqual(route("smtp:[mx.example.net]:2525"), .smtp(host: "mx.example.net", port: 2525, mxLookup: false))
        XCTAssertEqual(route("esmtp:[192.0.2.1]"), .smtp(host: "192.0.2.1", port: nil, mxLookup: false))
        XCTAssertEqual(route("smtp:[192.0.2.1]:587"), .smtp(host: "192.0.2.1", port: 587, mxLookup: false))
        XCTAssertEqual(route("smtp:[IPv6:2001:DB8::1]"), .smtp(host: "2001:db8::1", port: nil, mxLookup: false))
        XCTAssertEqual(route("smtp:[ipv6:2001:db8::1]:25"), .smtp(host: "2001:db8::1", port: 25, mxLookup: false))
    }

    func testRelayValues() {
        XCTAssertEqual(route("relay:hub.example.net"), .relay(host: "hub.example.net", port: nil, mxLookup: true))
        XCTAssertEqual(route("relay:[hub.example.net]:1"), .relay(host: "hub.example.net", port: 1, mxLookup: false))
        XCTAssertEqual(route("RELAY:[192.0.2.7]:65535"), .relay(host: "192.0.2.7", port: 65535, mxLookup: false))
    }

    func testBadHostsAndPortsAreProblems() {
        let text = """
            a.example smtp:
            b.example smtp:[mx.example.net]:0
            c.example smtp:[mx.example.net]:65536
            d.example smtp:[mx.example.net]:
            e.example smtp:[mx.example.net]x
            f.example smtp:192.0.2.1
            g.example smtp:[192.0.2]
            h.example smtp:[2001:db8::1]
            i.example smtp:[IPv6:2001:db8::g]
            j.example smtp:mx.example.net:25
            k.example smtp:[mx.example.net
            l.example smtp:bad_host!
            m.example smtp:postmaster@hub.example.net
            n.example smtp:a b
            o.example relay:[IPv6:2001:db8::1]:99999
            p.example smtp:2001:db8::1
            """
        XCTAssertEqual(
            problems(text),
            [
                "mailertable:1: no host in \"\"",
                "mailertable:2: invalid port in \"[mx.example.net]:0\" (1 to 65535)",
                "mailertable:3: invalid port in \"[mx.example.net]:65536\" (1 to 65535)",
                "mailertable:4: invalid port in \"[mx.example.net]:\" (1 to 65535)",
                "mailertable:5: invalid port in \"[mx.example.net]x\" (1 to 65535)",
                "mailertable:6: IP address \"192.0.2.1\" must be bracketed: [192.0.2.1] or [IPv6:2001:db8::1]",
                "mailertable:7: invalid host \"[192.0.2]\"",
                "mailertable:8: invalid host \"[2001:db8::1]\"",
                "mailertable:9: invalid host \"[IPv6:2001:db8::g]\"",
                "mailertable:10: invalid host \"mx.example.net:25\"",
                "mailertable:11: invalid host \"[mx.example.net\"",
                "mailertable:12: invalid host \"bad_host!\"",
                "mailertable:13: \"postmaster@hub.example.net\": a user in an smtp route is not supported",
                "mailertable:14: invalid host \"smtp:a b\"",
                "mailertable:15: invalid port in \"[IPv6:2001:db8::1]:99999\" (1 to 65535)",
                "mailertable:16: IP address \"2001:db8::1\" must be bracketed: [192.0.2.1] or [IPv6:2001:db8::1]",
            ])
    }

    func testBadMailersAndKeysAreProblems() {
        let text = """
            a.example mx.example.net
            b.example uucp-dom:home
            c.example :host
            d.example local:|prog
            e.example error:
            ..example smtp:x.example
            bad_key! smtp:x.example
            .. smtp:x.example
            g.example error:bogus text
            """
        XCTAssertEqual(
            problems(text),
            [
                "mailertable:1: value \"mx.example.net\" names no mailer (use mailer:host)",
                "mailertable:2: mailer \"uucp-dom\" is not supported (use smtp, esmtp, relay, local or error)",
                "mailertable:3: value \":host\" names no mailer (use mailer:host)",
                "mailertable:4: invalid local user \"local:|prog\"",
                "mailertable:5: \"error:\" needs a reply (error:D.S.N:### text or error:nouser text)",
                "mailertable:6: invalid key \"..example\" (use host.domain, .domain or a lone \".\")",
                "mailertable:7: invalid key \"bad_key!\" (use host.domain, .domain or a lone \".\")",
                "mailertable:8: invalid key \"..\" (use host.domain, .domain or a lone \".\")",
                "mailertable:9: unknown error name \"bogus\" (use a D.S.N code or one of usage, nouser, nohost, "
                    + "unavailable, software, tempfail, protocol, config)",
            ])
    }

    func testTheRestOfTheFileStillAppliesAfterABadLine() {
        let (map, found) = Mailertable.parse(
            text: "a.example smtp:[bad\nb.example smtp:mx.example.net\n", file: "mailertable")
        XCTAssertEqual(found.map(\.line), [1])
        XCTAssertEqual(map.count, 1)
        XCTAssertNil(map.route(for: "a.example"))
        XCTAssertEqual(map.route(for: "b.example"), .smtp(host: "mx.example.net", port: nil, mxLookup: true))
    }

    func testDuplicateKeyKeepsTheLastWithAWarning() {
        let (map, found) = Mailertable.parse(
            text: "Example.com local:a\nexample.com. local:b\n", file: "mailertable")
        XCTAssertEqual(
            found.map(\.description),
            ["mailertable:2: warning: duplicate key \"example.com\" (also on line 1); the last one wins"])
        XCTAssertEqual(map.route(for: "example.com"), .local(user: "b"))
    }

    func testEmptyTable() {
        XCTAssertNil(Mailertable().route(for: "example.com"))
        XCTAssertEqual(Mailertable().count, 0)
    }
}
