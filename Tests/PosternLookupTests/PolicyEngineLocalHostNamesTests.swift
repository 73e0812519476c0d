import XCTest

@testable import PosternLookup

final class PolicyEngineLocalHostNamesTests: XCTestCase {
    func testParseNamesCommentsAndProblems() {
        let text = """
            # local-host-names
            example.test
            Mail.Example.Test.   # the MX
              other.test\tthird.test

            [192.0.2.10]
            bad..name
            192.0.2.11
            user@example.test
            """
        let (names, problems) = LocalHostNames.parse(text: text, file: "local-host-names")
        XCTAssertEqual(
            names.names, ["example.test", "mail.example.test", "other.test", "third.test", "[192.0.2.10]"])
        XCTAssertEqual(
            problems.map(\.description),
            [
                "local-host-names:7: invalid host name \"bad..name\"",
                "local-host-names:8: invalid host name \"192.0.2.11\"",
                "local-host-names:9: invalid host name \"user@example.test\"",
            ])
    }

    func testContainsIsCaseInsensitiveAndIgnoresTheTrailingDot() {
        let (names, _) = LocalHostNames.parse(text: "Example.Test\n", file: "local-host-names")
        XCTAssertTrue(names.contains("example.test"))
        XCTAssertTrue(names.contains("EXAMPLE.TEST."))
        XCTAssertFalse(names.contains("sub.example.test"))
        XCTAssertFalse(names.contains("example.test.evil"))
        XCTAssertFalse(names.contains("example..test"))
    }

    func testLocalDomainsAreTheUnionWithTheConfiguration() {
        let (names, _) = LocalHostNames.parse(text: "from-file.test\n", file: "local-host-names")
        let domains = names.union(["Config.Test", "from-file.test."])
        XCTAssertEqual(domains, ["from-file.test", "config.test"])
        let engine = PolicyEngine(tables: PolicyTables(localDomains: domains, users: ["alice"]))
        let client = engine.client(ip: "203.0.113.1", hostname: nil)
        XCTAssertEqual(
            engine.recipient("alice@FROM-FILE.test", client: client, authenticated: false), .local(user: "alice"))
        XCTAssertEqual(
            engine.recipient("alice@config.test.", client: client, authenticated: false), .local(user: "alice"))
        XCTAssertEqual(
            engine.recipient("alice@nowhere.test", client: client, authenticated: false),
            .reject(code: 550, enhanced: "5.7.1", text: "<alice@nowhere.test>: Relaying denied"))
    }

    func testLiteralInLocalHostNamesMakesThatAddressLocal() {
        let (names, _) = LocalHostNames.parse(text: "[IPv6:2001:DB8::10]\n", file: "local-host-names")
        let engine = PolicyEngine(tables: PolicyTables(localDomains: names.names, users: ["alice"]))
        let client = ClientDecision(decision: .accept, mayRelay: false)
        XCTAssertEqual(
            engine.recipient("alice@[IPv6:2001:db8:0::10]", client: client, authenticated: false), .local(user: "alice")
        )
        XCTAssertEqual(
            engine.recipient("alice@[IPv6:2001:db8::11]", client: client, authenticated: false),
            .reject(code: 550, enhanced: "5.7.1", text: "<alice@[IPv6:2001:db8::11]>: Relaying denied"))
    }

    func testUTF8DomainsAreLocalOnlyWhenListed() {
        let engine = PolicyEngine(tables: PolicyTables(localDomains: ["bücher.test"], users: ["alice"]))
        let client = ClientDecision(decision: .accept, mayRelay: false)
        XCTAssertEqual(
            engine.recipient("alice@BÜCHER.test", client: client, authenticated: false), .local(user: "alice"))
        XCTAssertEqual(
            engine.recipient("alice@bücher.example", client: client, authenticated: false),
            .reject(code: 550, enhanced: "5.7.1", text: "<alice@b?cher.example>: Relaying denied"))
        XCTAssertEqual(
            engine.recipient("alice@bücher\u{2028}.test", client: client, authenticated: false),
            .reject(
                code: 553, enhanced: "5.1.3",
                text: "<alice@b?cher?.test>: Recipient address rejected: malformed address"))
    }
}
