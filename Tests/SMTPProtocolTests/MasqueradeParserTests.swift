import XCTest

@testable import SMTPProtocol

/// The RFC 5322 address-list parser under masquerading: where it finds
/// domains, what it refuses, and that hostile input costs linear work.
final class MasqueradeParserTests: XCTestCase {
    private func sites(_ text: String) throws(AddressListError) -> [MailboxSite] {
        try AddressListParser.mailboxes(inAddressList: Array(text.utf8)[...])
    }

    private func error(_ text: String) -> AddressListError? {
        do {
            _ = try sites(text)
            return nil
        } catch {
            return error
        }
    }

    /// The domains found, as text; literals in brackets, missing ones as "-".
    private func domains(_ text: String) throws -> [String] {
        let bytes = Array(text.utf8)
        return try sites(text).map { site in
            switch site.domain {
            case .missing: return "-"
            case .literal(let range): return "literal " + ASCII.string(bytes[range])
            case .commented(let range): return "commented " + ASCII.string(bytes[range])
            case .name(let range, let name):
                if name.count < AddressListParser.maxNameLength {
                    XCTAssertEqual(ASCII.string(bytes[range]).filter { $0 != " " }, ASCII.string(name))
                }
                return ASCII.string(name)
            }
        }
    }

    func testFindsEveryMailboxInOrder() throws {
        XCTAssertEqual(
            try domains("a@one.test, \"B\" <b@two.test>, G: c@three.test, d;, <e@[192.0.2.1]>, f@x (g@no.test)"),
            ["one.test", "two.test", "three.test", "-", "literal [192.0.2.1]", "x"])
    }

    func testLocalPartRangesCoverTheWrittenLocalPart() throws {
        let text = " \"a b\" . c @x, d"
        let bytes = Array(text.utf8)
        let found = try sites(text)
        XCTAssertEqual(found.map { ASCII.string(bytes[$0.localPart]) }, ["\"a b\" . c", "d"])
        XCTAssertEqual(AddressListParser.localPartValue(found[0].localPart, in: bytes[...]), Array("a b.c".utf8))
        XCTAssertEqual(found[1].domain, .missing(insertAt: bytes.count))
    }

    func testEmptyListsAndElements() throws {
        XCTAssertEqual(try domains(""), [])
        XCTAssertEqual(try domains(" (just a comment) "), [])
        XCTAssertEqual(try domains(",,a@b,,"), ["b"])
        XCTAssertEqual(try domains("<>"), [])
    }

    func testLexicalErrors() {
        XCTAssertEqual(error("(a (b) c"), .unterminatedComment)
        XCTAssertEqual(error("\"abc"), .unterminatedQuotedString)
        XCTAssertEqual(error("a@[1.2.3.4"), .unterminatedDomainLiteral)
        XCTAssertEqual(error("a@[1.[2]"), .unexpectedCharacter(at: 5))
        XCTAssertEqual(error("a@b\r\nc@d"), .badLineBreak(at: 3))
        XCTAssertEqual(error("a@b\nc@d"), .badLineBreak(at: 3))
        XCTAssertEqual(error("a@b\r"), .badLineBreak(at: 3))
        XCTAssertEqual(error("\"a\\\r\n b\"@c"), .badLineBreak(at: 3))
        XCTAssertEqual(error("a@b)"), .unexpectedCharacter(at: 3))
        XCTAssertEqual(error("a@b\u{7}"), .unexpectedCharacter(at: 3))
        XCTAssertEqual(try domains("a@b,\r\n\tc@d"), ["b", "d"])
    }

    func testGrammarErrors() {
        XCTAssertEqual(error("a@b c@d"), .unexpectedToken(at: 4))
        XCTAssertEqual(error("G: a@b"), .unexpectedEnd)
        XCTAssertEqual(error(": a@b;"), .unexpectedToken(at: 0))
        XCTAssertEqual(error("a@"), .unexpectedEnd)
        XCTAssertEqual(error("a@.b"), .unexpectedToken(at: 2))
        XCTAssertEqual(error("<@r a@b>"), .unexpectedToken(at: 4))
        XCTAssertEqual(error(".a@b"), .unexpectedToken(at: 2))
    }

    func testABareAddrSpecMustBeAllThereIs() throws {
        let bytes = Array("bobo@host.example.com".utf8)[...]
        XCTAssertEqual(
            try AddressListParser.addrSpec(bytes),
            MailboxSite(localPart: 0..<4, domain: .name(5..<21, name: Array("host.example.com".utf8))))
        XCTAssertThrowsError(try AddressListParser.addrSpec(Array("a@b, c@d".utf8)[...]))
        XCTAssertThrowsError(try AddressListParser.addrSpec(Array("<a@b>".utf8)[...]))
    }

    func testOverlongDomainsAreCappedAndNeverMatch() throws {
        let label = String(repeating: "a", count: 300)
        let found = try domains("x@\(label).example.com")
        XCTAssertEqual(found.first?.utf8.count, AddressListParser.maxNameLength)
        let masquerader = Masquerader(MasqueradeRules(masqueradeAs: "example.com", masqueradeDomains: [".example.com"]))
        XCTAssertEqual(masquerader.rewrite(address: "x@\(label).example.com"), "x@\(label).example.com")
    }

    // MARK: - Hostile input

    private let masquerader = Masquerader(
        MasqueradeRules(masqueradeAs: "example.com", masqueradeDomains: [".example.com"]))

    private func section(_ body: [UInt8]) -> [UInt8] {
        Array("Subject: x\r\nFrom:".utf8) + body + Array("\r\nTo: y\r\n".utf8)
    }

    func testDeeplyNestedCommentsUseACounter() {
        let depth = 100_000
        let body =
            Array(" a@h.example.com ".utf8) + Array(repeating: UInt8(ascii: "("), count: depth)
            + Array(repeating: UInt8(ascii: ")"), count: depth)
        XCTAssertEqual(
            masquerader.rewriteHeaderSection(section(body)), section(Array(" a@example.com ".utf8) + body[17...]))

        // One parenthesis short: unterminated, so the field stays as it is.
        let unbalanced = Array(body.dropLast())
        XCTAssertEqual(masquerader.rewriteHeaderSection(section(unbalanced)), section(unbalanced))
    }

    func testManyAddressesInOneFoldedField() {
        let count = 11_000
        let body = Array(Array(repeating: " u@h.example.com,\r\n", count: count).joined().utf8) + Array(" v@w".utf8)
        let expected =
            Array(Array(repeating: " u@example.com,\r\n", count: count).joined().utf8) + Array(" v@w".utf8)
        XCTAssertGreaterThan(body.count, 200_000)
        XCTAssertEqual(masquerader.rewriteHeaderSection(section(body)), section(expected))
    }

    func testTwoHundredKilobytesOfHostileSyntax() {
        // Quoted-pairs, comments and routes, then a final error: every
        // pattern is consumed once and the field is left unchanged.
        var body: [UInt8] = []
        while body.count < 200_000 {
            body += Array(" \"\\\"\\\\(\" <@r.example.com,,@s.example.com:a@h.example.com> (\\( ((x))),".utf8)
        }
        body += Array(" trailing <".utf8)
        XCTAssertEqual(masquerader.rewriteHeaderSection(section(body)), section(body))
        body.removeLast(2)
        let rewritten = masquerader.rewriteHeaderSection(section(body))
        XCTAssertLessThan(rewritten.count, section(body).count)
        XCTAssertFalse(ASCII.string(rewritten).contains("a@h.example.com"))
    }

    func testAVeryLongLocalPartOrPhraseIsLinear() {
        let atom = Array(repeating: UInt8(ascii: "a"), count: 200_000)
        XCTAssertEqual(
            masquerader.rewriteHeaderSection(section(Array(" ".utf8) + atom + Array("@h.example.com".utf8))),
            section(Array(" ".utf8) + atom + Array("@example.com".utf8)))
        let dots = Array(repeating: Array("a.".utf8), count: 100_000).joined()
        XCTAssertEqual(
            masquerader.rewriteHeaderSection(section(Array(" ".utf8) + dots + Array(" <x@h.example.com>".utf8))),
            section(Array(" ".utf8) + dots + Array(" <x@example.com>".utf8)))
    }
}
