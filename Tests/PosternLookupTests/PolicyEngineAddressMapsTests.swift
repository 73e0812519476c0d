import PosternAliases
import XCTest

@testable import PosternLookup

/// RCPT decisions with the aliases, virtusertable and mailertable in play.
final class PolicyEngineAddressMapsTests: XCTestCase {
    private static let aliasesText = """
        postmaster: root
        info: alice, bob@far.example
        sales: "|/usr/bin/vacation sales"
        """
    private static let virtualText = """
        alice@virtual.test      alice
        sales@virtual.test      info
        forward@virtual.test    someone@far.example
        again@virtual.test      alice@example.test
        loop1@virtual.test      loop2@virtual.test
        loop2@virtual.test      loop1@virtual.test
        gone@virtual.test       error:5.1.1:550 This address is no longer used
        @catchall.test          %1@far.example
        @onlyalice.test         alice
        @Shout.Test             error:nouser Nobody home
        """
    private static let mailerText = """
        blocked.example     error:5.7.1:550 We do not deliver there
        .sub.example        error:4.4.1:451 Try again later
        inhouse.example     local:bob
        anyone.example      local:
        routed.example      smtp:[127.0.0.9]:2525
        """

    private let engine: PolicyEngine = {
        let (aliases, a) = AliasesFile.parse(text: aliasesText, file: "aliases")
        let (virtual, v) = Virtusertable.parse(text: virtualText, file: "virtusertable")
        let (mailers, m) = Mailertable.parse(text: mailerText, file: "mailertable")
        precondition(a.isEmpty && v.isEmpty && m.isEmpty, "\(a) \(v) \(m)")
        return PolicyEngine(
            tables: PolicyTables(
                localDomains: ["example.test"], users: ["alice", "bob", "root"], hostAddresses: ["127.0.0.1"],
                aliases: aliases, virtusertable: virtual, mailertable: mailers))
    }()

    private let stranger = ClientDecision(decision: .accept, mayRelay: false)
    private let relayer = ClientDecision(decision: .accept, mayRelay: true)

    private func rcpt(_ address: String, _ client: ClientDecision? = nil) -> RecipientDecision {
        engine.recipient(address, client: client ?? stranger, authenticated: false)
    }

    func testAliasNamesAreLocalRecipients() {
        XCTAssertEqual(rcpt("info@example.test"), .local(user: "info"))
        XCTAssertEqual(rcpt("INFO@Example.Test"), .local(user: "info"))
        XCTAssertEqual(rcpt("sales@example.test"), .local(user: "sales"))
        XCTAssertEqual(rcpt("postmaster@example.test"), .local(user: "postmaster"))
        XCTAssertEqual(rcpt("postmaster"), .local(user: "postmaster"))
        XCTAssertEqual(rcpt("mailer-daemon@example.test"), .local(user: "root"))
        XCTAssertEqual(rcpt("alice@example.test"), .local(user: "alice"))
        XCTAssertEqual(rcpt("nobody-here@example.test").code, 550)
    }

    func testVirtualDomainsAreLocalForTheRelayCheck() {
        XCTAssertEqual(rcpt("alice@virtual.test"), .local(user: "alice"))
        XCTAssertEqual(rcpt("ALICE@VIRTUAL.TEST."), .local(user: "alice"))
        // A virtual target that is an alias stays the alias's name.
        XCTAssertEqual(rcpt("sales@virtual.test"), .local(user: "info"))
        // A miss in a virtual domain is an unknown user, not a relay attempt.
        XCTAssertEqual(
            rcpt("bob@virtual.test"),
            .reject(
                code: 550, enhanced: "5.1.1",
                text: "<bob@virtual.test>: Recipient address rejected: User unknown in local recipient table"))
    }

    func testVirtualForwardingNeedsNoRelayRights() {
        XCTAssertEqual(rcpt("forward@virtual.test"), .remote(address: "someone@far.example", domain: "far.example"))
        XCTAssertEqual(rcpt("again@virtual.test"), .local(user: "alice"))
        XCTAssertEqual(rcpt("x.y@catchall.test"), .remote(address: "x.y@far.example", domain: "far.example"))
        XCTAssertEqual(rcpt("whoever@onlyalice.test"), .local(user: "alice"))
    }

    func testVirtualErrorsAreTheRCPTReply() {
        XCTAssertEqual(
            rcpt("gone@virtual.test"),
            .reject(code: 550, enhanced: "5.1.1", text: "This address is no longer used"))
        XCTAssertEqual(rcpt("x@shout.test").code, 550)
    }

    func testVirtualLoopsEnd() {
        XCTAssertEqual(rcpt("loop1@virtual.test").code, 553)
    }

    func testRelayTricksInVirtualDomainsStillNeedRelayRights() {
        XCTAssertEqual(rcpt("u%far.example@virtual.test").code, 550)
    }

    func testMailertableErrorsAndLocalRoutes() {
        XCTAssertEqual(
            rcpt("x@blocked.example", relayer),
            .reject(code: 550, enhanced: "5.7.1", text: "We do not deliver there"))
        XCTAssertEqual(
            rcpt("x@a.sub.example", relayer), .reject(code: 451, enhanced: "4.4.1", text: "Try again later"))
        // An error: entry refuses even clients that may not relay: it is
        // the more specific answer, and it reveals nothing.
        XCTAssertEqual(rcpt("x@blocked.example").code, 550)
        XCTAssertEqual(rcpt("anything@inhouse.example"), .local(user: "bob"))
        XCTAssertEqual(rcpt("alice@anyone.example"), .local(user: "alice"))
        XCTAssertEqual(rcpt("carol@anyone.example").code, 550)
        // smtp: routes are the relay's business: relaying rules still apply.
        XCTAssertEqual(rcpt("x@routed.example").code, 550)
        XCTAssertEqual(
            rcpt("x@routed.example", relayer), .remote(address: "x@routed.example", domain: "routed.example"))
    }
}

extension RecipientDecision {
    fileprivate var code: Int? {
        if case .reject(let code, _, _) = self { return code }
        return nil
    }
}
