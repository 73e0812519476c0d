import XCTest

@testable import PosternLookup

/// Handcrafted wire data, written out byte by byte so that the tests do not
/// lean on the encoder they check.
enum Wire {
    static func u16(_ value: UInt16) -> [UInt8] { [UInt8(value >> 8), UInt8(value & 0xFF)] }
    static func u32(_ value: UInt32) -> [UInt8] { u16(UInt16(value >> 16)) + u16(UInt16(value & 0xFFFF)) }

    /// Uncompressed; a name ending in "@" ends with a pointer instead of the
    /// root, e.g. name("mx1", pointer: 12).
    static func name(_ text: String, pointer: UInt16? = nil) -> [UInt8] {
        var out: [UInt8] = []
        for label in text.split(separator: ".", omittingEmptySubsequences: true) {
            out.append(UInt8(label.utf8.count))
            out.append(contentsOf: label.utf8)
        }
        if let pointer { return out + u16(0xC000 | pointer) }
        return out + [0]
    }

    static func record(_ owner: [UInt8], _ type: UInt16, ttl: UInt32 = 300, qclass: UInt16 = 1, _ rdata: [UInt8])
        -> [UInt8]
    {
        owner + u16(type) + u16(qclass) + u32(ttl) + u16(UInt16(rdata.count)) + rdata
    }

    static func txt(_ strings: [[UInt8]]) -> [UInt8] { strings.flatMap { [UInt8($0.count)] + $0 } }

    /// A response to `question`, whose name starts at offset 12 so that
    /// records can point at it with 0xC00C.
    static func response(
        id: UInt16 = 0x4242, flags: UInt16 = 0x8180, question: String, type: UInt16, answers: [[UInt8]],
        authority: [[UInt8]] = [], additional: [[UInt8]] = []
    ) -> [UInt8] {
        var out = u16(id) + u16(flags) + u16(1) + u16(UInt16(answers.count))
        out += u16(UInt16(authority.count)) + u16(UInt16(additional.count))
        out += name(question) + u16(type) + u16(1)
        return out + (answers + authority + additional).flatMap { $0 }
    }

    /// Our answer to a query packet: its id and question echoed back.
    static func reply(to query: [UInt8], flags: UInt16 = 0x8180, answers: [[UInt8]]) -> [UInt8] {
        Array(query[0..<2]) + u16(flags) + u16(1) + u16(UInt16(answers.count)) + u16(0) + u16(0)
            + Array(query[12...]) + answers.flatMap { $0 }
    }

    static let here: [UInt8] = [0xC0, 0x0C]
}

/// A deterministic generator, so that a failing fuzz case can be replayed.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

final class DNSMessageTests: XCTestCase {
    private func decode(_ packet: [UInt8]) throws -> DNSMessage { try DNSMessage.decode(packet) }

    /// A reply with every kind of record we read, compression in owners and
    /// in RDATA, and authority and additional sections.
    private var richPacket: [UInt8] {
        Wire.response(
            question: "example.com", type: 15,
            answers: [
                Wire.record(Wire.here, 15, Wire.u16(20) + Wire.name("mx2", pointer: 12)),
                Wire.record(Wire.here, 15, Wire.u16(10) + Wire.name("mx1", pointer: 12)),
                Wire.record(Wire.here, 16, Wire.txt([Array("v=spf1".utf8), Array(" -all".utf8)])),
                Wire.record(Wire.here, 1, [192, 0, 2, 1]),
                Wire.record(Wire.here, 28, [0x20, 0x01, 0x0D, 0xB8] + [UInt8](repeating: 0, count: 11) + [1]),
                Wire.record(Wire.name("www", pointer: 12), 5, Wire.here),
                Wire.record(Wire.name("1.2.0.192.in-addr.arpa"), 12, Wire.name("host", pointer: 12)),
            ],
            authority: [Wire.record(Wire.here, 2, Wire.name("ns1", pointer: 12))],
            additional: [Wire.record(Wire.name("ns1", pointer: 12), 1, [192, 0, 2, 53])])
    }

    func testQueryIsEncodedByteForByte() throws {
        let labels = try DNSName.labels(of: "Mail.Example.COM.")
        let packet = DNSMessage.query(id: 0xBEEF, labels: labels, type: 15)
        let expected: [UInt8] =
            [0xBE, 0xEF, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]
            + [4] + Array("mail".utf8) + [7] + Array("example".utf8) + [3] + Array("com".utf8) + [0]
            + [0, 15, 0, 1]
        XCTAssertEqual(packet, expected)
        let decoded = try decode(packet)
        XCTAssertEqual(decoded.id, 0xBEEF)
        XCTAssertFalse(decoded.isResponse)
        XCTAssertEqual(decoded.question, DNSQuestion(name: "mail.example.com", type: 15, qclass: 1))
    }

    func testEveryRecordKindDecodes() throws {
        let message = try decode(richPacket)
        XCTAssertTrue(message.isResponse)
        XCTAssertEqual(message.id, 0x4242)
        XCTAssertEqual(message.rcode, 0)
        XCTAssertFalse(message.truncated)
        XCTAssertEqual(message.question, DNSQuestion(name: "example.com", type: 15, qclass: 1))
        XCTAssertEqual(
            message.answers.map(\.data),
            [
                .mx(preference: 20, exchange: "mx2.example.com"),
                .mx(preference: 10, exchange: "mx1.example.com"),
                .txt(["v=spf1", " -all"]),
                .a([192, 0, 2, 1]),
                .aaaa([0x20, 0x01, 0x0D, 0xB8] + [UInt8](repeating: 0, count: 11) + [1]),
                .cname("example.com"),
                .ptr("host.example.com"),
            ])
        XCTAssertEqual(message.answers.map(\.name).last, "1.2.0.192.in-addr.arpa")
        XCTAssertEqual(message.answers[5].name, "www.example.com")
        XCTAssertEqual(
            message.answers[0], DNSRecord(name: "example.com", type: 15, ttl: 300, data: message.answers[0].data))
    }

    func testAuthorityAndAdditionalAreCheckedButNotAnswers() throws {
        XCTAssertEqual(try decode(richPacket).answers.count, 7)
        var broken = richPacket
        broken[broken.count - 5] = 0xC0  // the additional A record's RDLENGTH, now past the end
        XCTAssertThrowsError(try decode(broken))
    }

    func testHeaderFlags() throws {
        let packet = Wire.response(flags: 0x8583, question: "x.test", type: 1, answers: [])
        let message = try decode(packet)
        XCTAssertTrue(message.authoritative)
        XCTAssertFalse(message.truncated)
        XCTAssertEqual(message.rcode, 3)
        let truncated = try decode(Wire.response(flags: 0x8380, question: "x.test", type: 1, answers: []))
        XCTAssertTrue(truncated.truncated)
    }

    func testNamesComeBackLowercaseAndEscaped() throws {
        let hostile: [UInt8] = [7] + Array("A.b c\r\n".utf8) + [4] + Array("T\\S>".utf8) + [0]
        let packet = Wire.response(question: "x.test", type: 12, answers: [Wire.record(Wire.here, 12, hostile)])
        XCTAssertEqual(try decode(packet).answers.first?.data, .ptr("a\\046b\\032c\\013\\010.t\\092s\\062"))
    }

    func testTXTIsEscapedAndKeepsItsStrings() throws {
        let strings: [[UInt8]] = [Array("Listed\r\nQUIT".utf8), [], Array("back\\slash \u{7F}é".utf8)]
        let packet = Wire.response(
            question: "x.test", type: 16, answers: [Wire.record(Wire.here, 16, Wire.txt(strings))])
        XCTAssertEqual(
            try decode(packet).answers.first?.data,
            .txt(["Listed\\013\\010QUIT", "", "back\\092slash \\127\\195\\169"]))
        let overrun = Wire.response(question: "x.test", type: 16, answers: [Wire.record(Wire.here, 16, [5, 65, 66])])
        XCTAssertThrowsError(try decode(overrun))
    }

    func testRDLengthMustMatchTheRecord() {
        let cases: [(UInt16, [UInt8])] = [
            (1, [1, 2, 3]), (1, [1, 2, 3, 4, 5]), (28, [UInt8](repeating: 0, count: 15)),
            (15, Wire.u16(10) + Wire.name("mx") + [0]), (15, [0, 10]), (12, Wire.name("a.b") + [0, 0]),
            (5, Wire.here + [0]),
        ]
        for (type, rdata) in cases {
            let packet = Wire.response(question: "x.test", type: type, answers: [Wire.record(Wire.here, type, rdata)])
            XCTAssertThrowsError(try decode(packet), "type \(type) rdata \(rdata)")
        }
        // A name inside RDATA may not run on past RDLENGTH into the next bytes.
        let spill = Wire.response(
            question: "x.test", type: 12,
            answers: [Wire.record(Wire.here, 12, [3, 97, 98, 99]), Wire.record(Wire.here, 1, [0, 0, 1, 1])])
        XCTAssertThrowsError(try decode(spill))
    }

    func testEveryTruncationIsRefused() throws {
        let packet = richPacket
        XCTAssertNoThrow(try decode(packet))
        for length in 0..<packet.count {
            XCTAssertThrowsError(try decode(Array(packet[0..<length])), "prefix of \(length) octets accepted")
        }
    }

    func testSelfPointerLoopIsRefused() {
        let packet = Wire.response(question: "x.test", type: 1, answers: []).prefix(12) + Wire.here + [0, 1, 0, 1]
        XCTAssertThrowsError(try decode(Array(packet))) { error in
            XCTAssertEqual(error as? DNSError, .malformed("compression pointer does not point backwards"))
        }
    }

    func testForwardPointerIsRefused() {
        // The question's name points at the record's owner, after it.
        var packet = Wire.u16(1) + Wire.u16(0x8180) + Wire.u16(1) + Wire.u16(1) + Wire.u16(0) + Wire.u16(0)
        packet += [0xC0, 18] + Wire.u16(1) + Wire.u16(1)
        packet += Wire.record(Wire.name("a"), 1, [1, 2, 3, 4])
        XCTAssertThrowsError(try decode(packet))
    }

    func testTwoPointerLoopIsRefused() {
        // Owner at 34: "b" then a pointer back to 12; at 12: "a" then a
        // pointer forward to 34. Each pointer alone looks backwards from
        // where it sits; together they loop.
        var packet = Wire.u16(1) + Wire.u16(0x8180) + Wire.u16(1) + Wire.u16(1) + Wire.u16(0) + Wire.u16(0)
        packet += Wire.name("a", pointer: 22) + Wire.u16(1) + Wire.u16(1)  // 12..<20
        packet += [0, 0]  // 20..<22 filler
        packet += Wire.record(Wire.name("b", pointer: 12), 1, [1, 2, 3, 4])  // owner at 22
        XCTAssertThrowsError(try decode(packet))
    }

    func testLongPointerChainsAndLongNamesAreRefused() throws {
        // A stash of 70 one-label names, each pointing at the one before,
        // in an unparsed record; a PTR then points at the last of them.
        func packet(links: Int) -> [UInt8] {
            let stashStart = 12 + Wire.name("x.test").count + 4 + 2 + 10
            var stash = Wire.name("z")
            var previous = stashStart
            for _ in 1..<links {
                let here = stashStart + stash.count
                stash += Wire.name("a", pointer: UInt16(previous))
                previous = here
            }
            return Wire.response(
                question: "x.test", type: 12,
                answers: [
                    Wire.record(Wire.here, 99, stash), Wire.record(Wire.here, 12, Wire.u16(0xC000 | UInt16(previous))),
                ])
        }
        let short = try decode(packet(links: 10))
        XCTAssertEqual(short.answers.last?.data, .ptr(Array(repeating: "a", count: 9).joined(separator: ".") + ".z"))
        XCTAssertThrowsError(try decode(packet(links: 70))) { error in
            XCTAssertEqual(error as? DNSError, .malformed("too many compression pointers"))
        }
        let label = String(repeating: "q", count: 63)
        let long = Wire.response(question: [label, label, label, label].joined(separator: "."), type: 1, answers: [])
        XCTAssertThrowsError(try decode(long)) { error in
            XCTAssertEqual(error as? DNSError, .malformed("name longer than 255 octets"))
        }
    }

    func testReservedLabelTypesAreRefused() {
        for first: UInt8 in [0x40, 0x80, 0x7F, 0xBF] {
            let packet =
                Array(Wire.response(question: "x.test", type: 1, answers: []).prefix(12)) + [first, 0, 0, 1, 0, 1]
            XCTAssertThrowsError(try decode(packet), "label byte \(first)")
        }
    }

    func testCountsBeyondThePacketAreRefusedAtOnce() {
        var packet = Wire.response(question: "x.test", type: 1, answers: [])
        packet[6] = 0xFF
        packet[7] = 0xFF
        XCTAssertThrowsError(try decode(packet)) { error in
            XCTAssertEqual(error as? DNSError, .malformed("section counts exceed the packet"))
        }
        packet[6] = 0
        packet[7] = 0
        packet[4] = 0
        packet[5] = 2
        XCTAssertThrowsError(try decode(packet))
    }

    func testTruncatedHeaderOnlyReadsTheQuestion() throws {
        var packet = Wire.response(flags: 0x8380, question: "x.test", type: 1, answers: [])
        packet[7] = 9  // claims nine answers that are not there
        let head = try DNSMessage.decode(packet, records: false)
        XCTAssertTrue(head.truncated)
        XCTAssertEqual(head.question?.name, "x.test")
        XCTAssertThrowsError(try decode(packet))
    }

    func testRandomBytesNeverCrash() {
        var random = SplitMix(state: 0x5EED)
        for _ in 0..<5000 {
            let count = Int.random(in: 0..<300, using: &random)
            let bytes = (0..<count).map { _ in UInt8.random(in: 0...255, using: &random) }
            _ = try? DNSMessage.decode(bytes)
            _ = try? DNSMessage.decode(bytes, records: false)
        }
    }

    func testMutatedRepliesNeverCrash() {
        var random = SplitMix(state: 0xD45)
        let base = richPacket
        var accepted = 0
        for _ in 0..<5000 {
            var bytes = base
            for _ in 0..<Int.random(in: 1...4, using: &random) {
                bytes[Int.random(in: 0..<bytes.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
            }
            if Bool.random(using: &random) { bytes.removeLast(Int.random(in: 0..<bytes.count, using: &random)) }
            if (try? DNSMessage.decode(bytes)) != nil { accepted += 1 }
        }
        // Some mutations (a TTL, an address) leave a valid packet: the loop
        // really did reach the deep parsing.
        XCTAssertGreaterThan(accepted, 0)
    }
}
