import XCTest

@testable import SMTPProtocol

final class MailboxAddressTests: XCTestCase {
    private func forward(_ text: String) throws -> MailboxAddress {
        try MailboxAddress.parseForwardPath(Array(text.utf8))
    }

    private func forwardError(_ text: String) -> MailboxAddressError? {
        do {
            _ = try MailboxAddress.parseForwardPath(Array(text.utf8))
            return nil
        } catch {
            return error
        }
    }

    func testPlainMailbox() throws {
        let mailbox = try forward("<alice@example.test>")
        XCTAssertEqual(mailbox, MailboxAddress(localPart: "alice", domain: "example.test"))
        XCTAssertEqual(mailbox.address, "alice@example.test")
    }

    func testDotAtomLocalPartWithSpecials() throws {
        XCTAssertEqual(
            try forward("<first.last+tag!#$%&'*/=?^_`{|}~-@mail.example.test>").localPart,
            "first.last+tag!#$%&'*/=?^_`{|}~-")
    }

    func testQuotedLocalPartsKeepTheirWireForm() throws {
        XCTAssertEqual(try forward("<\"john doe\"@example.test>").address, "\"john doe\"@example.test")
        XCTAssertEqual(try forward("<\"a\\\"b\"@example.test>").localPart, "\"a\\\"b\"")
        XCTAssertEqual(try forward("<\"a>b@c\"@example.test>").localPart, "\"a>b@c\"")
        XCTAssertEqual(forwardError("<\"\"@example.test>"), .invalidLocalPart)
        XCTAssertEqual(forwardError("<\"unterminated@example.test>"), .invalidLocalPart)
        XCTAssertEqual(forwardError("<\"tab\there\"@example.test>"), .controlCharacter)
    }

    func testSourceRouteIsCheckedAndDropped() throws {
        XCTAssertEqual(try forward("<@a.example,@b.example:user@c.example>").address, "user@c.example")
        XCTAssertEqual(forwardError("<@a.example;user@c.example>"), .invalidSourceRoute)
        XCTAssertEqual(forwardError("<@:user@c.example>"), .invalidSourceRoute)
    }

    func testDomainLiterals() throws {
        XCTAssertEqual(try forward("<root@[127.0.0.1]>").domain, "[127.0.0.1]")
        XCTAssertEqual(try forward("<root@[IPv6:2001:db8::1]>").domain, "[IPv6:2001:db8::1]")
        XCTAssertEqual(try forward("<root@[ipv6:::ffff:192.0.2.1]>").domain, "[ipv6:::ffff:192.0.2.1]")
        XCTAssertEqual(try forward("<root@[IPv6:1:2:3:4:5:6:7:8]>").domain, "[IPv6:1:2:3:4:5:6:7:8]")
        XCTAssertEqual(forwardError("<root@[256.0.0.1]>"), .invalidDomain)
        XCTAssertEqual(forwardError("<root@[1.2.3]>"), .invalidDomain)
        XCTAssertEqual(forwardError("<root@[IPv6:1::2::3]>"), .invalidDomain)
        XCTAssertEqual(forwardError("<root@[IPv6:1:2:3:4:5:6:7:8:9]>"), .invalidDomain)
        XCTAssertEqual(forwardError("<root@[IPv6:12345::1]>"), .invalidDomain)
        XCTAssertEqual(forwardError("<root@[x-tag:stuff]>"), .invalidDomain)
        XCTAssertEqual(forwardError("<root@[127.0.0.1>"), .invalidDomain)
    }

    func testPostmasterWithoutDomainOnlyAsRecipient() throws {
        XCTAssertEqual(try forward("<POSTMASTER>"), MailboxAddress(localPart: "POSTMASTER", domain: ""))
        XCTAssertEqual(try forward("<POSTMASTER>").address, "POSTMASTER")
        XCTAssertEqual(forwardError("<webmaster>"), .invalidLocalPart)
        XCTAssertThrowsError(try MailboxAddress.parseReversePath(Array("<postmaster>".utf8)))
    }

    func testNullPathOnlyAsSender() throws {
        XCTAssertEqual(try MailboxAddress.parseReversePath(Array("<>".utf8)), .null)
        XCTAssertEqual(ReversePath.null.address, "")
        XCTAssertEqual(forwardError("<>"), .nullPathNotAllowed)
    }

    func testLengthLimits() throws {
        let local64 = String(repeating: "l", count: 64)
        XCTAssertEqual(try forward("<\(local64)@example.test>").localPart, local64)
        XCTAssertEqual(forwardError("<\(local64)l@example.test>"), .localPartTooLong)

        let label = String(repeating: "d", count: 63)
        let domain255 = [label, label, label, label].joined(separator: ".")
        XCTAssertEqual(domain255.utf8.count, 255)
        XCTAssertEqual(forwardError("<a@\(domain255)>"), .pathTooLong)  // 1 + 1 + 1 + 255 + 1 = 259 octets
        XCTAssertEqual(forwardError("<a@\(domain255)d>"), .domainTooLong)
        XCTAssertEqual(forwardError("<a@\(label)d.example>"), .invalidDomain)

        let domain = [label, label, label].joined(separator: ".") + ".example"  // 199 octets
        let local = String(repeating: "l", count: 54)
        XCTAssertEqual(try forward("<\(local)@\(domain)>").address.utf8.count, 254)  // path: 256
        XCTAssertEqual(forwardError("<\(local)l@\(domain)>"), .pathTooLong)
    }

    func testMalformedDomainsAndLocalParts() {
        XCTAssertEqual(forwardError("<a@.example.test>"), .invalidDomain)
        XCTAssertEqual(forwardError("<a@example..test>"), .invalidDomain)
        XCTAssertEqual(forwardError("<a@example.test.>"), .invalidDomain)
        XCTAssertEqual(forwardError("<a@-example.test>"), .invalidDomain)
        XCTAssertEqual(forwardError("<a@example-.test>"), .invalidDomain)
        XCTAssertEqual(forwardError("<a@exa_mple.test>"), .missingAngleBrackets)
        XCTAssertEqual(forwardError("<.a@example.test>"), .invalidLocalPart)
        XCTAssertEqual(forwardError("<a.@example.test>"), .invalidLocalPart)
        XCTAssertEqual(forwardError("<a..b@example.test>"), .invalidLocalPart)
        XCTAssertEqual(forwardError("<a b@example.test>"), .invalidLocalPart)
        XCTAssertEqual(forwardError("<@example.test>"), .invalidSourceRoute)
        XCTAssertEqual(forwardError("a@example.test"), .missingAngleBrackets)
        XCTAssertEqual(forwardError("<a@example.test"), .missingAngleBrackets)
        XCTAssertEqual(forwardError("<a@example.test> "), .trailingCharacters)
    }

    func testControlAndNonASCIIBytesAreRefused() {
        XCTAssertEqual(forwardError("<a\u{1B}b@example.test>"), .controlCharacter)
        XCTAssertEqual(forwardError("<a@exa\u{7F}mple.test>"), .controlCharacter)
        XCTAssertEqual(forwardError("<j\u{F6}rg@example.test>"), .nonASCII)
        XCTAssertEqual(forwardError("<a@b\u{FC}cher.example>"), .nonASCII)
        XCTAssertEqual(
            (try? MailboxAddress.parseForwardPath([0x3C, 0x61, 0x00, 0x40, 0x62, 0x3E])) == nil, true)
    }

    func testBareMailbox() throws {
        XCTAssertEqual(
            try MailboxAddress.parseMailbox(Array("root@example.test".utf8)),
            MailboxAddress(localPart: "root", domain: "example.test"))
        XCTAssertThrowsError(try MailboxAddress.parseMailbox(Array("<root@example.test>".utf8)))
        XCTAssertThrowsError(try MailboxAddress.parseMailbox(Array("root".utf8)))
        XCTAssertThrowsError(try MailboxAddress.parseMailbox(Array("root@example.test extra".utf8)))
    }

    func testScanPathStopsAtTheClosingBracket() throws {
        let bytes = Array("<\"x>y\"@example.test> SIZE=10".utf8)
        let (path, end) = try MailboxAddress.scanPath(bytes[...], isReversePath: true)
        XCTAssertEqual(path.address, "\"x>y\"@example.test")
        XCTAssertEqual(String(decoding: bytes[end...], as: UTF8.self), " SIZE=10")
    }
}
