import XCTest

@testable import PosternLookup

final class DNSBLTests: XCTestCase {
    func testIPv4QueryNamesReverseTheOctets() {
        XCTAssertEqual(DNSBL.queryName(ip: "1.2.3.4", zone: "zen.example"), "4.3.2.1.zen.example")
        XCTAssertEqual(DNSBL.queryName(ip: "192.0.2.99", zone: "Bl.Example.ORG."), "99.2.0.192.bl.example.org")
        XCTAssertEqual(DNSBL.queryName(ip: "::ffff:1.2.3.4", zone: "zen.example"), "4.3.2.1.zen.example")
    }

    func testIPv6QueryNamesAreNibbles() {
        // RFC 5782 §2.4's example.
        XCTAssertEqual(
            DNSBL.queryName(ip: "2001:db8:1:2:3:4:567:89ab", zone: "ugly.example.com"),
            "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.ugly.example.com")
        XCTAssertEqual(
            DNSBL.queryName(ip: "::1", zone: "z.test"),
            "1." + Array(repeating: "0", count: 31).joined(separator: ".") + ".z.test")
    }

    func testWhatIsNotAnAddressOrAZoneGivesNoName() {
        for ip in ["", "1.2.3", "1.2.3.4.5", "01.2.3.4", "1.2.3.4 ", "host.example", "1.2.3.4\u{0}", "fe80::1%eth0"] {
            XCTAssertNil(DNSBL.queryName(ip: ip, zone: "zen.example"), ip)
        }
        for zone in ["", ".", "bad zone", "zen..example", "zen.example\r\n", String(repeating: "z", count: 64)] {
            XCTAssertNil(DNSBL.queryName(ip: "1.2.3.4", zone: zone), zone)
        }
        let longZone = Array(repeating: String(repeating: "z", count: 60), count: 4).joined(separator: ".")
        XCTAssertNotNil(DNSBL.queryName(ip: "1.2.3.4", zone: longZone))
        XCTAssertNil(DNSBL.queryName(ip: "2001:db8::1", zone: longZone))
    }

    /// A list that answers A with `codes` and TXT with `reason`, or NXDOMAIN
    /// when `codes` is nil; `txtFails` makes the TXT query SERVFAIL.
    private func list(codes: [[UInt8]]?, reason: String? = nil, txtFails: Bool = false) throws -> FakeDNSServer {
        try FakeDNSServer { query in
            guard let codes, let (name, type) = FakeDNSServer.question(query), name == "2.0.0.127.bl.test" else {
                return [Wire.reply(to: query, flags: 0x8183, answers: [])]
            }
            if type == 16 {
                if txtFails { return [Wire.reply(to: query, flags: 0x8182, answers: [])] }
                let records = reason.map { [Wire.record(Wire.here, 16, Wire.txt([Array($0.utf8)]))] } ?? []
                return [Wire.reply(to: query, answers: records)]
            }
            return [Wire.reply(to: query, answers: codes.map { Wire.record(Wire.here, 1, $0) })]
        }
    }

    private func check(_ fake: FakeDNSServer) throws -> DNSBL.Result {
        try DNSBL.check(
            ip: "127.0.0.2", zone: "bl.test", resolver: DNSResolver(servers: [fake.server], timeout: 1, attempts: 1))
    }

    func testListedWithReason() throws {
        let fake = try list(codes: [[127, 0, 0, 2], [127, 0, 0, 4], [127, 0, 0, 2]], reason: "Listed\r\nsee x")
        defer { fake.stop() }
        XCTAssertEqual(try check(fake), .listed(codes: ["127.0.0.2", "127.0.0.4"], text: "Listed\\013\\010see x"))
    }

    func testListedWithoutReason() throws {
        let fake = try list(codes: [[127, 0, 0, 10]], reason: nil)
        defer { fake.stop() }
        XCTAssertEqual(try check(fake), .listed(codes: ["127.0.0.10"], text: nil))
        let failing = try list(codes: [[127, 0, 0, 10]], txtFails: true)
        defer { failing.stop() }
        XCTAssertEqual(try check(failing), .listed(codes: ["127.0.0.10"], text: nil))
    }

    func testNXDomainAndAnswersOutside127AreNotListings() throws {
        let absent = try list(codes: nil)
        defer { absent.stop() }
        XCTAssertEqual(try check(absent), .notListed)
        let wildcard = try list(codes: [[10, 0, 0, 1], [128, 0, 0, 2]])
        defer { wildcard.stop() }
        XCTAssertEqual(try check(wildcard), .notListed)
        let empty = try list(codes: [])
        defer { empty.stop() }
        XCTAssertEqual(try check(empty), .notListed)
    }

    func testRefusalCodesThrowInsteadOfListing() throws {
        let refused = try list(codes: [[127, 255, 255, 254]])
        defer { refused.stop() }
        XCTAssertThrowsError(try check(refused)) { XCTAssertEqual($0 as? DNSError, .serverFailure(rcode: 5)) }
    }

    func testLookupFailuresAreThrown() throws {
        let failing = try FakeDNSServer { [Wire.reply(to: $0, flags: 0x8182, answers: [])] }
        defer { failing.stop() }
        XCTAssertThrowsError(try check(failing)) { XCTAssertEqual($0 as? DNSError, .serverFailure(rcode: 2)) }
        let resolver = DNSResolver(servers: [failing.server])
        XCTAssertThrowsError(try DNSBL.check(ip: "nonsense", zone: "bl.test", resolver: resolver)) { error in
            guard case .badName = error as? DNSError else { return XCTFail("\(error)") }
        }
    }

    func testLongReasonsAreCutCleanly() {
        XCTAssertEqual(DNSBL.shortened("short"), "short")
        let long = String(repeating: "x", count: 254) + "\\013tail"
        XCTAssertEqual(DNSBL.shortened(long), String(repeating: "x", count: 254))
        XCTAssertEqual(DNSBL.shortened(String(repeating: "y", count: 400)).count, 256)
    }
}
