import XCTest

@testable import LocalSubmission

final class OriginatorFieldsTests: XCTestCase {
    private func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    func testFromWithPlainName() {
        XCTAssertEqual(
            text(OriginatorFields.from(fullName: "Cron Daemon", address: "root@h")), "From: Cron Daemon <root@h>\r\n")
        XCTAssertEqual(text(OriginatorFields.from(fullName: nil, address: "root@h")), "From: root@h\r\n")
        XCTAssertEqual(text(OriginatorFields.from(fullName: "  ", address: "root@h")), "From: root@h\r\n")
    }

    func testFromQuotesSpecials() {
        XCTAssertEqual(
            text(OriginatorFields.from(fullName: "Smith, John", address: "j@h")), "From: \"Smith, John\" <j@h>\r\n")
        XCTAssertEqual(
            text(OriginatorFields.from(fullName: "J. \"Q\" \\Public", address: "j@h")),
            "From: \"J. \\\"Q\\\" \\\\Public\" <j@h>\r\n")
        XCTAssertEqual(text(OriginatorFields.from(fullName: "=?x?=", address: "j@h")), "From: \"=?x?=\" <j@h>\r\n")
    }

    func testFromEncodesNonASCII() {
        XCTAssertEqual(
            text(OriginatorFields.from(fullName: "Zo\u{EB} M\u{FC}ller", address: "z@h")),
            "From: =?UTF-8?B?Wm/DqyBNw7xsbGVy?= <z@h>\r\n")
    }

    func testLongNonASCIINameIsSplitIntoWordsOfAtMost75() {
        let name = String(repeating: "\u{E9}", count: 60)
        let line = text(OriginatorFields.from(fullName: name, address: "z@h"))
        let words = line.dropFirst("From: ".count).components(separatedBy: "\r\n ")
        XCTAssertEqual(words.count, 3)
        for word in words.dropLast() { XCTAssertLessThanOrEqual(word.count, 75) }
        XCTAssertTrue(line.hasSuffix("?= <z@h>\r\n"))
    }

    func testFromNeutralisesControlCharacters() {
        XCTAssertEqual(
            text(OriginatorFields.from(fullName: "Eve\r\nBcc: x@y", address: "e@h")),
            "From: \"Eve  Bcc: x@y\" <e@h>\r\n")
    }

    func testGECOS() {
        XCTAssertEqual(OriginatorFields.fullName(gecos: "Alice Smith,Room 1,555,", login: "alice"), "Alice Smith")
        XCTAssertEqual(OriginatorFields.fullName(gecos: "& Jones", login: "bob"), "Bob Jones")
        XCTAssertEqual(OriginatorFields.fullName(gecos: "&&", login: "x"), "XX")
        XCTAssertNil(OriginatorFields.fullName(gecos: ",,,", login: "x"))
        XCTAssertNil(OriginatorFields.fullName(gecos: "", login: "x"))
    }

    func testDate() {
        XCTAssertEqual(
            text(OriginatorFields.date(secondsSince1970: 0, utcOffsetSeconds: 0)),
            "Date: Thu, 1 Jan 1970 00:00:00 +0000\r\n")
        XCTAssertEqual(
            text(OriginatorFields.date(secondsSince1970: 1_796_691_131, utcOffsetSeconds: 0)),
            "Date: Tue, 8 Dec 2026 00:52:11 +0000\r\n")
        XCTAssertEqual(
            text(OriginatorFields.date(secondsSince1970: 1_796_691_131, utcOffsetSeconds: -5 * 3_600)),
            "Date: Mon, 7 Dec 2026 19:52:11 -0500\r\n")
        XCTAssertEqual(
            text(OriginatorFields.date(secondsSince1970: 1_796_691_131, utcOffsetSeconds: 5 * 3_600 + 1_800)),
            "Date: Tue, 8 Dec 2026 06:22:11 +0530\r\n")
        XCTAssertEqual(
            text(OriginatorFields.date(secondsSince1970: 951_782_400, utcOffsetSeconds: 0)),
            "Date: Tue, 29 Feb 2000 00:00:00 +0000\r\n")
        XCTAssertEqual(
            text(OriginatorFields.date(secondsSince1970: -1, utcOffsetSeconds: 0)),
            "Date: Wed, 31 Dec 1969 23:59:59 +0000\r\n")
    }

    func testMessageID() {
        let random: [UInt8] = Array(0..<16)
        XCTAssertEqual(
            text(OriginatorFields.messageID(random: random, secondsSince1970: 1_796_691_131, host: "h.example")),
            "Message-ID: <20261208005211.000102030405060708090a0b0c0d0e0f@h.example>\r\n")
    }

    func testBase64() {
        XCTAssertEqual(Base64.encode([]), "")
        XCTAssertEqual(Base64.encode(Array("f".utf8)), "Zg==")
        XCTAssertEqual(Base64.encode(Array("fo".utf8)), "Zm8=")
        XCTAssertEqual(Base64.encode(Array("foobar".utf8)), "Zm9vYmFy")
    }
}

extension OriginatorFieldsTests {
    func testExtremeTimesAreClampedNotTrapped() {
        XCTAssertEqual(
            String(decoding: OriginatorFields.date(secondsSince1970: .max, utcOffsetSeconds: .max), as: UTF8.self),
            "Date: Fri, 31 Dec 9999 23:59:59 +9959\r\n")
        XCTAssertEqual(
            String(decoding: OriginatorFields.date(secondsSince1970: .min, utcOffsetSeconds: .min), as: UTF8.self),
            "Date: Mon, 1 Jan 0001 00:00:00 -9959\r\n")
        XCTAssertFalse(OriginatorFields.messageID(random: [], secondsSince1970: .max, host: "h").isEmpty)
    }
}
