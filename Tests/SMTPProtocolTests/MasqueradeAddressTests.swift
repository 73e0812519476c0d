import XCTest

@testable import SMTPProtocol

/// Which addresses masquerading rewrites, and to what: the seed's
/// MASQUERADE_AS, MASQUERADE_DOMAIN, EXPOSED_USER, masquerade_entire_domain,
/// masquerade_envelope and always_add_domain, on bare addresses.
final class MasqueradeAddressTests: XCTestCase {
    /// The seed's gateway: MASQUERADE_AS(example.com),
    /// MASQUERADE_DOMAIN(.example.com).
    private let seed = Masquerader(
        MasqueradeRules(
            masqueradeAs: "example.com", masqueradeDomains: [".example.com"], localHostNames: ["mail.example.com"],
            hostName: "mail.example.com"))

    func testHostsUnderTheDottedDomainBecomeTheDomain() {
        XCTAssertEqual(seed.rewrite(address: "bobo@host.example.com"), "bobo@example.com")
        XCTAssertEqual(seed.rewrite(address: "bobo@a.b.example.com"), "bobo@example.com")
        XCTAssertEqual(seed.rewrite(address: "bobo@mail.example.com"), "bobo@example.com")
    }

    func testOtherDomainsAreLeftAlone() {
        XCTAssertEqual(seed.rewrite(address: "bobo@example.org"), "bobo@example.org")
        XCTAssertEqual(seed.rewrite(address: "bobo@notexample.com"), "bobo@notexample.com")
        XCTAssertEqual(seed.rewrite(address: "bobo@example.com.evil.test"), "bobo@example.com.evil.test")
        XCTAssertEqual(seed.rewrite(address: "bobo@com"), "bobo@com")
    }

    func testAnAddressAlreadyAtTheMasqueradeDomainKeepsItsBytes() {
        XCTAssertEqual(seed.rewrite(address: "bobo@example.com"), "bobo@example.com")
        XCTAssertEqual(seed.rewrite(address: "bobo@EXAMPLE.com."), "bobo@EXAMPLE.com.")
    }

    func testTheDottedEntryCoversTheBareDomainToo() {
        let masquerader = Masquerader(MasqueradeRules(masqueradeAs: "example.net", masqueradeDomains: [".example.com"]))
        XCTAssertEqual(masquerader.rewrite(address: "bobo@example.com"), "bobo@example.net")
        XCTAssertEqual(masquerader.rewrite(address: "bobo@host.example.com"), "bobo@example.net")
    }

    func testRootIsExposedByDefault() {
        XCTAssertEqual(MasqueradeRules().exposedUsers, ["root"])
        XCTAssertEqual(seed.rewrite(address: "root@host.example.com"), "root@host.example.com")
        XCTAssertEqual(seed.rewrite(address: "ROOT@host.example.com"), "ROOT@host.example.com")
        XCTAssertEqual(seed.rewrite(address: "\"root\"@host.example.com"), "\"root\"@host.example.com")
        XCTAssertEqual(seed.rewrite(address: "root2@host.example.com"), "root2@example.com")
    }

    func testExposedUsersAreTheWholeList() {
        var rules = seed.rules
        rules.exposedUsers = ["Operator"]
        let masquerader = Masquerader(rules)
        XCTAssertEqual(masquerader.rewrite(address: "operator@host.example.com"), "operator@host.example.com")
        XCTAssertEqual(masquerader.rewrite(address: "root@host.example.com"), "root@example.com")
    }

    func testWithoutADotTheEntryIsOneHost() {
        let rules = MasqueradeRules(masqueradeAs: "example.com", masqueradeDomains: ["example.com", "Hub.Example.ORG"])
        let masquerader = Masquerader(rules)
        XCTAssertEqual(masquerader.rewrite(address: "bobo@host.example.com"), "bobo@host.example.com")
        XCTAssertEqual(masquerader.rewrite(address: "bobo@hub.example.org"), "bobo@example.com")
        XCTAssertEqual(masquerader.rewrite(address: "bobo@x.hub.example.org"), "bobo@x.hub.example.org")
    }

    func testEntireDomainMakesEveryEntryAWholeDomain() {
        var rules = MasqueradeRules(masqueradeAs: "masq.com", masqueradeDomains: ["foo.org", "bar.com."])
        rules.entireDomain = true
        let masquerader = Masquerader(rules)
        XCTAssertEqual(masquerader.rewrite(address: "bobo@foo.org"), "bobo@masq.com")
        XCTAssertEqual(masquerader.rewrite(address: "bobo@a.foo.org"), "bobo@masq.com")
        XCTAssertEqual(masquerader.rewrite(address: "bobo@deep.a.bar.com"), "bobo@masq.com")
        XCTAssertEqual(masquerader.rewrite(address: "bobo@barfoo.org"), "bobo@barfoo.org")
    }

    func testEntireDomainDoesNotWidenLocalHostNames() {
        var rules = MasqueradeRules(masqueradeAs: "example.com", localHostNames: ["mail.example.org"])
        rules.entireDomain = true
        let masquerader = Masquerader(rules)
        XCTAssertEqual(masquerader.rewrite(address: "bobo@mail.example.org"), "bobo@example.com")
        XCTAssertEqual(masquerader.rewrite(address: "bobo@x.mail.example.org"), "bobo@x.mail.example.org")
    }

    func testCaseAndTrailingDotsAreIgnoredEverywhere() {
        let masquerader = Masquerader(
            MasqueradeRules(masqueradeAs: "Example.COM.", masqueradeDomains: [".EXAMPLE.com."], hostName: "Mail.Lan."))
        XCTAssertEqual(masquerader.rewrite(address: "Bobo@HOST.Example.Com."), "Bobo@Example.COM")
        XCTAssertEqual(masquerader.rewrite(address: "bobo@mail.lan"), "bobo@Example.COM")
        XCTAssertEqual(masquerader.rewrite(address: "bobo@example.com"), "bobo@example.com")
    }

    func testDomainLiteralsAreLeftAlone() {
        let masquerader = Masquerader(MasqueradeRules(masqueradeAs: "example.com", localHostNames: ["[192.0.2.1]"]))
        XCTAssertEqual(masquerader.rewrite(address: "bobo@[192.0.2.1]"), "bobo@[192.0.2.1]")
    }

    func testQuotedLocalPartsAreKeptAsWritten() {
        XCTAssertEqual(seed.rewrite(address: "\"bo bo\"@host.example.com"), "\"bo bo\"@example.com")
        XCTAssertEqual(seed.rewrite(address: "\"a@b\\\"c\"@host.example.com"), "\"a@b\\\"c\"@example.com")
        XCTAssertEqual(
            seed.rewrite(address: "\"a@host.example.com\"@example.org"), "\"a@host.example.com\"@example.org")
    }

    func testNullPathAndNonAddressesAreUnchanged() {
        XCTAssertEqual(seed.rewrite(address: ""), "")
        XCTAssertEqual(seed.rewrite(envelopeSender: ""), "")
        XCTAssertEqual(seed.rewrite(address: "Bobo <bobo@host.example.com>"), "Bobo <bobo@host.example.com>")
        XCTAssertEqual(seed.rewrite(address: "a@b@host.example.com"), "a@b@host.example.com")
        XCTAssertEqual(seed.rewrite(address: "\"open@host.example.com"), "\"open@host.example.com")
    }

    func testMasqueradingOffChangesNothing() {
        let masquerader = Masquerader(MasqueradeRules(masqueradeDomains: [".example.com"], hostName: "h.example.com"))
        XCTAssertFalse(masquerader.isActive)
        XCTAssertEqual(masquerader.rewrite(address: "bobo@host.example.com"), "bobo@host.example.com")
        XCTAssertEqual(masquerader.rewrite(address: "bobo"), "bobo")
    }

    func testInvalidSettingsAreIgnoredAndReported() {
        let badTarget = MasqueradeRules(masqueradeAs: "exa mple.com\r\nX-Evil: 1", masqueradeDomains: [".example.com"])
        XCTAssertFalse(Masquerader(badTarget).isActive)
        XCTAssertEqual(Masquerader(badTarget).rewrite(address: "bobo@h.example.com"), "bobo@h.example.com")
        XCTAssertThrowsError(try badTarget.validate()) {
            XCTAssertEqual($0 as? MasqueradeRulesError, .invalidMasqueradeAs("exa mple.com\r\nX-Evil: 1"))
        }
        XCTAssertThrowsError(try MasqueradeRules(masqueradeDomains: ["..example.com"]).validate()) {
            XCTAssertEqual($0 as? MasqueradeRulesError, .invalidMasqueradeDomain("..example.com"))
        }
        XCTAssertThrowsError(try MasqueradeRules(localHostNames: ["-bad"]).validate()) {
            XCTAssertEqual($0 as? MasqueradeRulesError, .invalidLocalHostName("-bad"))
        }
        XCTAssertThrowsError(try MasqueradeRules(hostName: "a_b").validate()) {
            XCTAssertEqual($0 as? MasqueradeRulesError, .invalidHostName("a_b"))
        }
        XCTAssertNoThrow(try seed.rules.validate())
        XCTAssertNoThrow(try MasqueradeRules().validate())
    }

    // MARK: - always_add_domain

    func testAlwaysAddDomainQualifiesAndThenMasquerades() {
        var rules = seed.rules
        rules.alwaysAddDomain = true
        rules.hostName = "whoopeejohn.example.com"
        let masquerader = Masquerader(rules)
        XCTAssertEqual(masquerader.rewrite(address: "bobo"), "bobo@example.com")
        XCTAssertEqual(masquerader.rewrite(address: "root"), "root@whoopeejohn.example.com")
        XCTAssertEqual(masquerader.rewrite(address: "\"bo bo\""), "\"bo bo\"@example.com")
    }

    func testAlwaysAddDomainWorksWithoutMasquerading() {
        let masquerader = Masquerader(MasqueradeRules(alwaysAddDomain: true, hostName: "whoopeejohn.lan."))
        XCTAssertTrue(masquerader.isActive)
        XCTAssertEqual(masquerader.rewrite(address: "bobo"), "bobo@whoopeejohn.lan")
        XCTAssertEqual(masquerader.rewrite(address: "bobo@elsewhere.test"), "bobo@elsewhere.test")
    }

    func testWithoutAlwaysAddDomainAnUnqualifiedAddressStays() {
        XCTAssertEqual(seed.rewrite(address: "bobo"), "bobo")
        let noHost = Masquerader(MasqueradeRules(masqueradeAs: "example.com", alwaysAddDomain: true))
        XCTAssertEqual(noHost.rewrite(address: "bobo"), "bobo")
    }

    // MARK: - masquerade_envelope

    func testTheEnvelopeIsMasqueradedOnlyWithEnvelopeOn() {
        XCTAssertEqual(seed.rewrite(envelopeSender: "bobo@host.example.com"), "bobo@host.example.com")
        var rules = seed.rules
        rules.envelope = true
        let masquerader = Masquerader(rules)
        XCTAssertEqual(masquerader.rewrite(envelopeSender: "bobo@host.example.com"), "bobo@example.com")
        XCTAssertEqual(masquerader.rewrite(envelopeSender: "root@host.example.com"), "root@host.example.com")
        XCTAssertEqual(masquerader.rewrite(envelopeSender: ""), "")
    }

    func testTheParsedEnvelopeSenderFollowsTheSameRules() throws {
        let path = try MailboxAddress.parseReversePath(Array("<\"bo bo\"@host.example.com>".utf8))
        XCTAssertEqual(seed.rewrite(envelopeSender: path), path)
        var rules = seed.rules
        rules.envelope = true
        let masquerader = Masquerader(rules)
        XCTAssertEqual(
            masquerader.rewrite(envelopeSender: path),
            .mailbox(MailboxAddress(localPart: "\"bo bo\"", domain: "example.com")))
        XCTAssertEqual(masquerader.rewrite(envelopeSender: ReversePath.null), .null)
        let literal = ReversePath.mailbox(MailboxAddress(localPart: "bobo", domain: "[192.0.2.1]"))
        XCTAssertEqual(masquerader.rewrite(envelopeSender: literal), literal)
        let root = ReversePath.mailbox(MailboxAddress(localPart: "\"ro\\ot\"", domain: "host.example.com"))
        XCTAssertEqual(masquerader.rewrite(envelopeSender: root), root)
    }

    func testAnUnqualifiedEnvelopeSenderIsQualifiedEitherWay() {
        var rules = seed.rules
        rules.alwaysAddDomain = true
        XCTAssertEqual(Masquerader(rules).rewrite(envelopeSender: "bobo"), "bobo@mail.example.com")
        rules.envelope = true
        XCTAssertEqual(Masquerader(rules).rewrite(envelopeSender: "bobo"), "bobo@example.com")
        rules.alwaysAddDomain = false
        XCTAssertEqual(Masquerader(rules).rewrite(envelopeSender: "bobo"), "bobo")
    }
}
