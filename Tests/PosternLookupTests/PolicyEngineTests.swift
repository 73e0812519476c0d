import XCTest

@testable import PosternLookup

final class PolicyEngineTests: XCTestCase {
    private static let accessText = """
        # clients
        Connect:192.168 RELAY
        Connect:203.0.113.66 REJECT
        Connect:198.51.100.7 DISCARD
        Connect:198.51.100.8 ERROR:"421 4.7.0 Come back later"
        Connect:198.51.100.9 OK
        Connect:trusted.example RELAY
        # senders
        From:spam@bad.example REJECT
        From:bad.example ERROR:5.7.1:550 We do not want your mail
        From:trash.example DISCARD
        From:friend.example RELAY
        # recipients
        To:partner.example RELAY
        To:friend@far.example RELAY
        To:postmaster@ RELAY
        To:okay.example OK
        To:blocked@example.test REJECT
        To:retired@ ERROR:5.1.6:550 Mailbox retired
        To:trash@example.test DISCARD
        To:denied.example REJECT
        """

    private let engine: PolicyEngine = {
        let (access, problems) = AccessMap.parse(text: PolicyEngineTests.accessText, file: "access")
        precondition(problems.isEmpty, "\(problems)")
        return PolicyEngine(
            tables: PolicyTables(
                localDomains: ["Example.Test", "other.test."], users: ["alice", "root", "Bob", "trash"],
                access: access, hostAddresses: ["192.0.2.10", "127.0.0.1", "::1"]))
    }()

    private let stranger = ClientDecision(decision: .accept, mayRelay: false)
    private let relayer = ClientDecision(decision: .accept, mayRelay: true)

    private func rcpt(_ address: String, from client: ClientDecision? = nil, authenticated: Bool = false)
        -> RecipientDecision
    {
        engine.recipient(address, client: client ?? stranger, authenticated: authenticated)
    }

    // MARK: - Clients

    func testUnlistedClientIsAcceptedWithoutRelaying() {
        XCTAssertEqual(engine.client(ip: "203.0.113.1", hostname: nil), stranger)
        XCTAssertEqual(engine.client(ip: "203.0.113.1", hostname: "mail.example.com"), stranger)
    }

    func testConnectActions() {
        XCTAssertEqual(engine.client(ip: "192.168.4.2", hostname: nil), relayer)
        XCTAssertEqual(engine.client(ip: "203.0.113.5", hostname: "mx.trusted.example"), relayer)
        XCTAssertEqual(
            engine.client(ip: "203.0.113.66", hostname: nil),
            ClientDecision(
                decision: .reject(code: 554, enhanced: "5.7.1", text: "<203.0.113.66>: Access denied"), mayRelay: false)
        )
        XCTAssertEqual(
            engine.client(ip: "198.51.100.7", hostname: nil), ClientDecision(decision: .discard, mayRelay: false))
        XCTAssertEqual(
            engine.client(ip: "198.51.100.8", hostname: nil),
            ClientDecision(
                decision: .reject(code: 421, enhanced: "4.7.0", text: "Come back later"), mayRelay: false))
        XCTAssertEqual(engine.client(ip: "198.51.100.9", hostname: nil), stranger)
    }

    func testEmptyTablesRefuseRelayingAndStillKnowPostmaster() {
        let empty = PolicyEngine(tables: PolicyTables())
        let client = empty.client(ip: "127.0.0.1", hostname: "localhost")
        XCTAssertEqual(client, stranger)
        XCTAssertEqual(empty.recipient("postmaster", client: client, authenticated: false), .local(user: "root"))
        XCTAssertEqual(
            empty.recipient("a@example.org", client: client, authenticated: false),
            .reject(code: 550, enhanced: "5.7.1", text: "<a@example.org>: Relaying denied"))
    }

    // MARK: - Senders

    func testSenderDecisions() {
        XCTAssertEqual(engine.sender("someone@example.org", client: stranger, authenticated: false), .accept)
        XCTAssertEqual(engine.sender("", client: stranger, authenticated: false), .accept)
        XCTAssertEqual(
            engine.sender("spam@bad.example", client: stranger, authenticated: false),
            .reject(code: 550, enhanced: "5.7.1", text: "<spam@bad.example>: Access denied"))
        XCTAssertEqual(
            engine.sender("ham@mail.bad.example", client: stranger, authenticated: false),
            .reject(code: 550, enhanced: "5.7.1", text: "We do not want your mail"))
        XCTAssertEqual(engine.sender("x@trash.example", client: stranger, authenticated: false), .discard)
        XCTAssertEqual(engine.sender("x@friend.example", client: stranger, authenticated: false), .accept)
    }

    func testAuthenticationDoesNotLiftASenderReject() {
        XCTAssertEqual(
            engine.sender("spam@bad.example", client: relayer, authenticated: true),
            .reject(code: 550, enhanced: "5.7.1", text: "<spam@bad.example>: Access denied"))
    }

    func testRefusedOrDiscardedClientCarriesOverToSenderAndRecipient() {
        let refused = engine.client(ip: "203.0.113.66", hostname: nil)
        let refusal = PolicyDecision.reject(code: 554, enhanced: "5.7.1", text: "<203.0.113.66>: Access denied")
        XCTAssertEqual(engine.sender("a@example.org", client: refused, authenticated: false), refusal)
        XCTAssertEqual(
            rcpt("alice@example.test", from: refused),
            .reject(code: 554, enhanced: "5.7.1", text: "<203.0.113.66>: Access denied"))
        let discarded = engine.client(ip: "198.51.100.7", hostname: nil)
        XCTAssertEqual(engine.sender("a@example.org", client: discarded, authenticated: false), .discard)
        XCTAssertEqual(rcpt("alice@example.test", from: discarded), .discard)
        XCTAssertEqual(rcpt("anyone@example.org", from: discarded), .discard)
    }

    func testFromEntriesDoNotApplyToRecipients() {
        XCTAssertEqual(
            rcpt("spam@bad.example", from: relayer), .remote(address: "spam@bad.example", domain: "bad.example"))
    }

    // MARK: - Local recipients

    func testLocalUsers() {
        XCTAssertEqual(rcpt("alice@example.test"), .local(user: "alice"))
        XCTAssertEqual(rcpt("alice@other.test"), .local(user: "alice"))
        XCTAssertEqual(rcpt("ALICE@EXAMPLE.TEST."), .local(user: "alice"))
        XCTAssertEqual(rcpt("alice"), .local(user: "alice"))
        XCTAssertEqual(rcpt("\"alice\"@example.test"), .local(user: "alice"))
        XCTAssertEqual(rcpt("<alice@example.test>"), .local(user: "alice"))
    }

    func testUserNamesMatchExactlyThenLowercased() {
        XCTAssertEqual(rcpt("Bob@example.test"), .local(user: "Bob"))
        XCTAssertEqual(
            rcpt("bob@example.test"),
            .reject(
                code: 550, enhanced: "5.1.1",
                text: "<bob@example.test>: Recipient address rejected: User unknown in local recipient table"))
    }

    func testUnknownUser() {
        XCTAssertEqual(
            rcpt("mallory@example.test"),
            .reject(
                code: 550, enhanced: "5.1.1",
                text: "<mallory@example.test>: Recipient address rejected: User unknown in local recipient table"))
        XCTAssertEqual(
            rcpt("mallory@example.test", from: relayer, authenticated: true),
            .reject(
                code: 550, enhanced: "5.1.1",
                text: "<mallory@example.test>: Recipient address rejected: User unknown in local recipient table"))
    }

    func testPostmasterAndMailerDaemonAlwaysReachRoot() {
        XCTAssertEqual(rcpt("postmaster"), .local(user: "root"))
        XCTAssertEqual(rcpt("PostMaster@example.test"), .local(user: "root"))
        XCTAssertEqual(rcpt("MAILER-DAEMON@other.test"), .local(user: "root"))
        let noUsers = PolicyEngine(tables: PolicyTables(localDomains: ["example.test"]))
        XCTAssertEqual(
            noUsers.recipient("postmaster@example.test", client: stranger, authenticated: false), .local(user: "root"))
    }

    func testHostAddressLiteralsAreLocal() {
        XCTAssertEqual(rcpt("alice@[192.0.2.10]"), .local(user: "alice"))
        XCTAssertEqual(rcpt("alice@[IPv6:::1]"), .local(user: "alice"))
        XCTAssertEqual(rcpt("alice@[IPv6:0:0:0:0:0:0:0:1]"), .local(user: "alice"))
    }

    func testLiteralsListedAmongLocalDomainsAreLocal() {
        let engine = PolicyEngine(tables: PolicyTables(localDomains: ["[198.51.100.20]"], users: ["alice"]))
        XCTAssertEqual(
            engine.recipient("alice@[198.51.100.20]", client: stranger, authenticated: false), .local(user: "alice"))
    }

    // MARK: - To: entries

    func testToRejectErrorAndDiscardOnLocalRecipients() {
        XCTAssertEqual(
            rcpt("blocked@example.test"),
            .reject(code: 550, enhanced: "5.7.1", text: "<blocked@example.test>: Access denied"))
        XCTAssertEqual(
            rcpt("retired@other.test"), .reject(code: 550, enhanced: "5.1.6", text: "Mailbox retired"))
        XCTAssertEqual(rcpt("trash@example.test"), .discard)
        XCTAssertEqual(rcpt("trash@other.test"), .local(user: "trash"))
    }

    func testToRejectAppliesToRelayingClientsToo() {
        XCTAssertEqual(
            rcpt("a@mx.denied.example", from: relayer),
            .reject(code: 550, enhanced: "5.7.1", text: "<a@mx.denied.example>: Access denied"))
        XCTAssertEqual(
            rcpt("retired@elsewhere.example", from: relayer),
            .reject(code: 550, enhanced: "5.1.6", text: "Mailbox retired"))
    }

    // MARK: - Relaying

    func testRemoteRecipientFromAStrangerIsRelayingDenied() {
        for address in ["alice@example.org", "alice@sub.example.test", "alice@example.test.evil", "a@okay.example"] {
            XCTAssertEqual(
                rcpt(address), .reject(code: 550, enhanced: "5.7.1", text: "<\(address)>: Relaying denied"), address)
        }
    }

    func testRelayingClientAndAuthenticatedSessionMayRelay() {
        XCTAssertEqual(
            rcpt("Alice@Example.ORG", from: relayer), .remote(address: "Alice@Example.ORG", domain: "example.org"))
        XCTAssertEqual(
            rcpt("alice@example.org", authenticated: true),
            .remote(address: "alice@example.org", domain: "example.org"))
    }

    func testToRelayOpensItsDomainAndSubdomains() {
        XCTAssertEqual(rcpt("u@partner.example"), .remote(address: "u@partner.example", domain: "partner.example"))
        XCTAssertEqual(
            rcpt("u@mx.partner.example"), .remote(address: "u@mx.partner.example", domain: "mx.partner.example"))
        XCTAssertEqual(
            rcpt("u@partner.example.com"),
            .reject(code: 550, enhanced: "5.7.1", text: "<u@partner.example.com>: Relaying denied"))
    }

    func testToRelayForAFullAddressOpensOnlyThatAddress() {
        XCTAssertEqual(rcpt("friend@far.example"), .remote(address: "friend@far.example", domain: "far.example"))
        XCTAssertEqual(
            rcpt("enemy@far.example"),
            .reject(code: 550, enhanced: "5.7.1", text: "<enemy@far.example>: Relaying denied"))
    }

    func testToRelayForALocalPartDoesNotOpenTheRelay() {
        XCTAssertEqual(
            rcpt("postmaster@evil.example"),
            .reject(code: 550, enhanced: "5.7.1", text: "<postmaster@evil.example>: Relaying denied"))
        XCTAssertEqual(rcpt("postmaster@example.test"), .local(user: "root"))
    }

    func testToOkDoesNotOpenTheRelay() {
        XCTAssertEqual(
            rcpt("u@okay.example"), .reject(code: 550, enhanced: "5.7.1", text: "<u@okay.example>: Relaying denied"))
    }

    // MARK: - Malformed

    func testMalformedRecipientsAreRefused() {
        for address in [
            "", "alice@", "alice@bad..domain", "\"unterminated@example.test", "alice@[999.1.1.1]", "@example.test",
            "@example.test:", "a b@example.test", "alice@exa mple.test", "\"\"@example.test", "alice@example.test:25",
            "alice@example.test\r\nRCPT TO:<x@evil.example>", "\"a\"b@example.test",
        ] {
            let shown = PolicyReplies.shown(address)
            XCTAssertEqual(
                rcpt(address, from: relayer),
                .reject(
                    code: 553, enhanced: "5.1.3", text: "<\(shown)>: Recipient address rejected: malformed address"),
                address)
        }
    }

    func testReplyTextsNeverCarryControlCharacters() {
        guard case .reject(_, _, let text) = rcpt("a\r\nb@example.test") else { return XCTFail("accepted") }
        XCTAssertFalse(text.contains("\r") || text.contains("\n"))
        XCTAssertEqual(text, "<a??b@example.test>: Recipient address rejected: malformed address")
    }

    func testRoutingThroughOurselvesIsBounded() {
        let ok = "alice" + String(repeating: "%example.test", count: 7) + "@example.test"
        XCTAssertEqual(rcpt(ok, from: relayer), .local(user: "alice"))
        let deep = "alice" + String(repeating: "%example.test", count: 8) + "@example.test"
        XCTAssertEqual(
            rcpt(deep, from: relayer),
            .reject(
                code: 553, enhanced: "5.1.3", text: "<\(deep)>: Recipient address rejected: too many routing levels"))
    }
}
