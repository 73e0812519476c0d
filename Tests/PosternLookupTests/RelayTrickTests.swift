import XCTest

@testable import PosternLookup

/// The classic open-relay test addresses (the lists relay testers used
/// against 1990s MTAs), each tried from a client that may not relay, which
/// must get `550 5.7.1 Relaying denied` unless the address is genuinely
/// local, and from clients that may (by Connect: RELAY or by
/// authentication), which get the real destination.
final class RelayTrickTests: XCTestCase {
    private let engine = PolicyEngine(
        tables: PolicyTables(
            localDomains: ["example.test", "Mail.Example.Test."], users: ["user", "root"],
            access: AccessMap.parse(text: "To:partner.example RELAY\n", file: "access").0,
            hostAddresses: ["192.0.2.10", "127.0.0.1", "::1"]))

    private let stranger = ClientDecision(decision: .accept, mayRelay: false)
    private let relayer = ClientDecision(decision: .accept, mayRelay: true)

    private static let remote = RecipientDecision.remote(address: "user@remote.example", domain: "remote.example")

    /// The address is a relay attempt: refused for a stranger, `relayed`
    /// for a relaying client and for an authenticated stranger.
    private func assertRelayTrick(
        _ address: String, relayed expected: RecipientDecision = RelayTrickTests.remote,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        XCTAssertEqual(
            engine.recipient(address, client: stranger, authenticated: false),
            .reject(code: 550, enhanced: "5.7.1", text: "<\(address)>: Relaying denied"),
            "from a stranger", file: file, line: line)
        XCTAssertEqual(
            engine.recipient(address, client: relayer, authenticated: false), expected, "from a relay client",
            file: file, line: line)
        XCTAssertEqual(
            engine.recipient(address, client: stranger, authenticated: true), expected, "authenticated",
            file: file, line: line)
    }

    /// The address really is a local mailbox, whoever asks.
    private func assertGenuinelyLocal(
        _ address: String, user: String = "user", file: StaticString = #filePath, line: UInt = #line
    ) {
        for client in [stranger, relayer] {
            XCTAssertEqual(
                engine.recipient(address, client: client, authenticated: false), .local(user: user), file: file,
                line: line)
        }
    }

    // MARK: - Percent hack

    func testPercentHack() { assertRelayTrick("user%remote.example@example.test") }
    func testPercentHackUppercaseDomain() { assertRelayTrick("user%remote.example@EXAMPLE.TEST") }
    func testPercentHackTrailingDotLocalDomain() { assertRelayTrick("user%remote.example@example.test.") }
    func testPercentHackOtherLocalName() { assertRelayTrick("user%remote.example@mail.example.test") }
    func testPercentHackAtHostLiteral() { assertRelayTrick("user%remote.example@[127.0.0.1]") }
    func testPercentHackAtIPv6HostLiteral() { assertRelayTrick("user%remote.example@[IPv6:::1]") }
    func testPercentHackWithoutDomain() { assertRelayTrick("user%remote.example") }
    func testDoublePercentHack() { assertRelayTrick("user%remote.example%example.test@example.test") }
    func testPercentHackToALiteral() {
        assertRelayTrick(
            "user%[203.0.113.7]@example.test",
            relayed: .remote(address: "user@[203.0.113.7]", domain: "[203.0.113.7]"))
    }
    func testPercentHackBackToOurselvesIsStillRefusedForStrangers() {
        assertRelayTrick("user%example.test@example.test", relayed: .local(user: "user"))
    }

    // MARK: - Quoted local parts

    func testQuotedAt() { assertRelayTrick("\"user@remote.example\"@example.test") }
    func testQuotedPercent() { assertRelayTrick("\"user%remote.example\"@example.test") }
    func testQuotedBang() { assertRelayTrick("\"remote.example!user\"@example.test") }
    func testQuotedAtAtHostLiteral() { assertRelayTrick("\"user@remote.example\"@[192.0.2.10]") }
    func testQuotedPercentAtHostLiteral() { assertRelayTrick("\"user%remote.example\"@[127.0.0.1]") }
    func testQuotedAtWithEscapes() { assertRelayTrick("\"user\\@remote.example\"@example.test") }
    func testQuotedAtWithoutDomain() { assertRelayTrick("\"user@remote.example\"") }

    // MARK: - Several @

    func testUnquotedDoubleAt() { assertRelayTrick("user@remote.example@example.test") }
    func testDoubleAtWithTrailingDotInside() { assertRelayTrick("user@remote.example.@example.test") }
    func testDoubleAtAtHostLiteral() { assertRelayTrick("user@remote.example@[127.0.0.1]") }

    // MARK: - Bang paths

    func testBangPath() { assertRelayTrick("remote.example!user@example.test") }
    func testBangPathWithoutDomain() { assertRelayTrick("remote.example!user") }
    func testBangPathAtHostLiteral() { assertRelayTrick("remote.example!user@[127.0.0.1]") }
    func testBangPathUppercase() {
        assertRelayTrick(
            "REMOTE.EXAMPLE!user@Example.Test",
            relayed: .remote(address: "user@REMOTE.EXAMPLE", domain: "remote.example"))
    }
    func testBangThenPercent() {
        assertRelayTrick(
            "remote.example!user%example.test@example.test",
            relayed: .remote(address: "user%example.test@remote.example", domain: "remote.example"))
    }
    func testBangPathBackToOurselves() {
        assertRelayTrick("example.test!user@example.test", relayed: .local(user: "user"))
    }

    // MARK: - Source routes

    func testSourceRouteThroughUs() { assertRelayTrick("@example.test:user@remote.example") }
    func testSourceRouteThroughHostLiteral() { assertRelayTrick("@[127.0.0.1]:user@remote.example") }
    func testSourceRouteWithSeveralHops() { assertRelayTrick("@example.test,@mail.example.test:user@remote.example") }
    func testSourceRouteWithPercentHack() { assertRelayTrick("@example.test:user%remote.example@example.test") }

    // MARK: - Plain remote addresses, however spelt

    func testPlainRemote() { assertRelayTrick("user@remote.example") }
    func testRemoteWithTrailingDot() { assertRelayTrick("user@remote.example.") }
    func testRemoteUppercase() {
        assertRelayTrick(
            "USER@REMOTE.EXAMPLE", relayed: .remote(address: "USER@REMOTE.EXAMPLE", domain: "remote.example"))
    }
    func testLookalikeOfALocalDomain() {
        assertRelayTrick(
            "user@example.test.remote.example",
            relayed: .remote(address: "user@example.test.remote.example", domain: "example.test.remote.example"))
    }
    func testSubdomainOfALocalDomain() {
        assertRelayTrick(
            "user@sub.example.test", relayed: .remote(address: "user@sub.example.test", domain: "sub.example.test"))
    }
    func testForeignAddressLiteral() {
        assertRelayTrick(
            "user@[203.0.113.7]", relayed: .remote(address: "user@[203.0.113.7]", domain: "[203.0.113.7]"))
    }
    func testForeignIPv6Literal() {
        assertRelayTrick(
            "user@[IPv6:2001:db8::7]",
            relayed: .remote(address: "user@[IPv6:2001:db8::7]", domain: "[IPv6:2001:db8::7]"))
    }
    func testLocalNameInTheLocalPartOfARemoteAddress() {
        assertRelayTrick(
            "user%example.test@remote.example",
            relayed: .remote(address: "user%example.test@remote.example", domain: "remote.example"))
    }
    func testAngleBracketsKept() {
        assertRelayTrick("<user%remote.example@example.test>")
    }

    // MARK: - Genuinely local

    func testLocalAddressIsLocal() { assertGenuinelyLocal("user@example.test") }
    func testLocalWithTrailingDot() { assertGenuinelyLocal("user@example.test.") }
    func testLocalMixedCase() { assertGenuinelyLocal("User@EXAMPLE.test") }
    func testLocalViaHostLiteral() { assertGenuinelyLocal("user@[127.0.0.1]") }
    func testLocalViaOtherHostLiteral() { assertGenuinelyLocal("user@[192.0.2.10]") }
    func testLocalViaIPv6HostLiteral() { assertGenuinelyLocal("user@[IPv6:::1]") }
    func testLocalViaIPv4MappedHostLiteral() { assertGenuinelyLocal("user@[IPv6:::ffff:127.0.0.1]") }
    func testQuotedPlainLocalPart() { assertGenuinelyLocal("\"user\"@example.test") }
    func testBarePostmaster() { assertGenuinelyLocal("postmaster", user: "root") }
    func testSourceRouteToALocalMailbox() { assertGenuinelyLocal("@remote.example:user@example.test") }

    // MARK: - To: RELAY does not unlock the tricks

    func testToRelayDoesNotLetAStrangerUseThePercentHack() {
        let address = "user%partner.example@example.test"
        XCTAssertEqual(
            engine.recipient(address, client: stranger, authenticated: false),
            .reject(code: 550, enhanced: "5.7.1", text: "<\(address)>: Relaying denied"))
        XCTAssertEqual(
            engine.recipient("user@partner.example", client: stranger, authenticated: false),
            .remote(address: "user@partner.example", domain: "partner.example"))
    }

    // MARK: - Generated addresses

    /// Every address glued together from relay-trick pieces: a stranger
    /// never gets one relayed (except to the To: RELAY domain), and nothing
    /// is ever relayed to one of our own domains.
    func testGeneratedAddressesNeverOpenTheRelay() {
        let pieces = [
            "user", "remote.example", "example.test", "partner.example", "%", "!", "@", "@", "\"", ".", ":", ",",
            "[127.0.0.1]", "[203.0.113.7]", "[IPv6:::1]", "\\", " ", "<", ">", "Example.Test.", "postmaster",
        ]
        var random = SplitMix64(seed: 0x5eed)
        var relayedForRelayer = 0
        for _ in 0..<20_000 {
            let count = Int(random.next() % 8) + 1
            let address = (0..<count).map { _ in pieces[Int(random.next() % UInt64(pieces.count))] }.joined()
            let asStranger = engine.recipient(address, client: stranger, authenticated: false)
            if case .remote(_, let domain) = asStranger {
                XCTAssertTrue(
                    domain == "partner.example" || domain.hasSuffix(".partner.example"), "relayed \(address)")
            }
            let asRelayer = engine.recipient(address, client: relayer, authenticated: false)
            if case .remote(_, let domain) = asRelayer {
                relayedForRelayer += 1
                XCTAssertFalse(
                    ["example.test", "mail.example.test", "[127.0.0.1]", "[IPv6:::1]"].contains(domain.lowercased()),
                    "relayed to ourselves: \(address)")
            }
        }
        XCTAssertGreaterThan(relayedForRelayer, 100)
    }

    // MARK: - The analysis itself

    func testAnalysisNamesTheTrick() throws {
        let analysis = RecipientAddress(localDomains: ["example.test"], hostAddresses: ["127.0.0.1"])
        XCTAssertEqual(
            try analysis.destination(of: "u%remote.example@example.test"),
            .routed(trick: .percentHack, inner: "u@remote.example"))
        XCTAssertEqual(
            try analysis.destination(of: "remote.example!u@example.test"),
            .routed(trick: .bangPath, inner: "u@remote.example"))
        XCTAssertEqual(
            try analysis.destination(of: "\"u@remote.example\"@[127.0.0.1]"),
            .routed(trick: .embeddedAt, inner: "u@remote.example"))
        XCTAssertEqual(try analysis.destination(of: "u@Example.Test."), .local(localPart: "u"))
        XCTAssertEqual(
            try analysis.destination(of: "u@[127.0.0.2]"), .remote(address: "u@[127.0.0.2]", domain: "[127.0.0.2]"))
        XCTAssertThrowsError(try analysis.destination(of: "u@"))
    }
}

/// A small deterministic generator (SplitMix64), so a failure replays.
struct SplitMix64 {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
