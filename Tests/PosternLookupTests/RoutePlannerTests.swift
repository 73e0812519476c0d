import PosternIPC
import XCTest

@testable import PosternLookup

/// Routing for the relay: mailertable, smart host, MX order, implicit MX,
/// null MX, DNS failures, and mail that would loop back to us.
final class RoutePlannerTests: XCTestCase {
    struct FakeDNS: RouteDNS {
        var mxRecords: [String: [(UInt16, String)]] = [:]
        var hosts: [String: [String]] = [:]
        var failing: Set<String> = []

        func mx(_ domain: String) throws(DNSError) -> [(preference: UInt16, exchange: String)] {
            if failing.contains(domain) { throw .timeout }
            guard let records = mxRecords[domain] else {
                if hosts[domain] == nil { throw .nameError }
                return []
            }
            return records.map { (preference: $0.0, exchange: $0.1) }
        }

        func addresses(_ host: String) throws(DNSError) -> [String] {
            if failing.contains(host) { throw .serverFailure(rcode: 2) }
            guard let list = hosts[host] else { throw .nameError }
            return list
        }
    }

    private let dns = FakeDNS(
        mxRecords: [
            "example.test": [(20, "mx2.example.test"), (10, "mx1.example.test")],
            "null.test": [(0, ".")],
            "self.test": [(10, "mail.ours.test"), (20, "backup.self.test")],
            "backup.test": [(5, "primary.backup.test"), (10, "mail.ours.test"), (10, "peer.backup.test")],
            "loop.test": [(10, "loop-host.test")],
        ],
        hosts: [
            "mx1.example.test": ["127.0.0.2"], "mx2.example.test": ["127.0.0.3", "::1"],
            "implicit.test": ["127.0.0.4"], "backup.self.test": ["127.0.0.5"], "primary.backup.test": ["127.0.0.6"],
            "peer.backup.test": ["127.0.0.7"], "loop-host.test": ["127.0.0.1"], "relay.test": ["127.0.0.8"],
        ], failing: ["broken.test"])

    private func planner(mailertable text: String = "", smartHost: String? = nil) -> RoutePlanner {
        let (table, problems) = Mailertable.parse(text: text, file: "mailertable")
        XCTAssertEqual(problems, [])
        return RoutePlanner(
            mailertable: table,
            smartHost: smartHost.flatMap { try? MailertableValue.parse(Substring("relay:" + $0)) },
            defaultPort: 25, ownNames: ["mail.ours.test"], ownEndpoints: ["127.0.0.1 25"],
            tls: TLSPolicyMap(fallback: .may), shuffle: { $0 })
    }

    func testMXRecordsInPreferenceOrderWithTheirAddresses() {
        let answer = planner().route("Example.Test.", dns: dns)
        XCTAssertEqual(answer.outcome, .hosts)
        XCTAssertEqual(answer.hosts.map(\.name), ["mx1.example.test", "mx2.example.test"])
        XCTAssertEqual(answer.hosts[1].addresses, ["127.0.0.3", "::1"])
        XCTAssertEqual(answer.hosts[0].port, 25)
        XCTAssertEqual(answer.tls, .may)
    }

    func testNoMXMeansTheDomainsOwnAddress() {
        XCTAssertEqual(planner().route("implicit.test", dns: dns).hosts.map(\.addresses), [["127.0.0.4"]])
    }

    func testNullMXAndMissingDomainsBounceAndDNSFailuresDefer() {
        XCTAssertEqual(planner().route("null.test", dns: dns).outcome, .permanent)
        XCTAssertTrue(planner().route("null.test", dns: dns).text.hasPrefix("5.1.10"))
        XCTAssertEqual(planner().route("nowhere.test", dns: dns).outcome, .permanent)
        XCTAssertEqual(planner().route("broken.test", dns: dns).outcome, .temporary)
        XCTAssertEqual(planner().route("example.test", dns: nil).outcome, .temporary)
    }

    func testWhenWeAreAnMXOnlyMorePreferredHostsAreUsed() {
        let first = planner().route("self.test", dns: dns)
        XCTAssertEqual(first.outcome, .permanent)
        XCTAssertTrue(first.text.contains("loops back to myself"))
        let backup = planner().route("backup.test", dns: dns)
        XCTAssertEqual(backup.hosts.map(\.name), ["primary.backup.test"], "the equally preferred peer goes too")
    }

    func testAHostAtOurOwnListeningAddressIsALoop() {
        XCTAssertEqual(planner().route("loop.test", dns: dns).outcome, .permanent)
    }

    func testMailertableRoutesComeFirst() {
        let p = planner(
            mailertable: """
                example.test   smtp:[127.0.0.9]:2525
                .sub.test      smtp:relay.test
                bad.test       error:5.7.1:550 no
                """, smartHost: "[127.0.0.10]:587")
        XCTAssertEqual(
            p.route("example.test", dns: dns).hosts,
            [RouteHost(name: "127.0.0.9", addresses: ["127.0.0.9"], port: 2525)])
        XCTAssertEqual(p.route("x.sub.test", dns: dns).hosts.map(\.addresses), [["127.0.0.8"]], "relay.test's A")
        XCTAssertEqual(p.route("bad.test", dns: dns).outcome, .permanent)
        XCTAssertEqual(p.route("implicit.test", dns: dns).hosts.map(\.port), [587], "the smart host")
    }

    func testTheTLSPolicyMapPicksTheLongestMatch() {
        let (map, problems) = TLSPolicyMap.parse(
            text: "example.test verify\n.test encrypt\nbad line here\nx.test bogus\n", file: "tls_policy",
            fallback: .may)
        XCTAssertEqual(problems.map(\.line), [3, 4])
        XCTAssertEqual(map.policy(for: "example.test"), .verify)
        XCTAssertEqual(map.policy(for: "other.test"), .encrypt)
        XCTAssertEqual(map.policy(for: "example.org"), .may)
    }
}
