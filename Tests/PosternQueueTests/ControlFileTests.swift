import Foundation
import PosternCore
import XCTest

@testable import PosternQueue

final class ControlFileTests: XCTestCase {
    static let id = QueueID("0123456789AB")!

    func sample() -> Envelope {
        Envelope(
            queueID: Self.id, sender: "alice@example.test",
            recipients: [
                Recipient(address: "bob@example.test", localUser: "bob"),
                Recipient(
                    address: "carol@example.test", localUser: "carol", state: .delivered, lastResult: "250 2.0.0 ok"),
                Recipient(
                    address: "dave@remote.test", localUser: "", state: .failed, lastResult: "550 5.1.1 no such user"),
            ],
            arrival: 1_700_000_000, clientAddress: "192.0.2.1", clientHelo: "mail.example.test",
            authUser: "alice", size: 1234, attempts: 3, nextAttempt: 1_700_000_900)
    }

    func encoded(_ e: Envelope? = nil) throws -> [UInt8] { try ControlFile.encode(e ?? sample()) }
    func text(_ s: String) -> [UInt8] { Array(s.utf8) }

    func assertDecodeFails(
        _ bytes: [UInt8], _ expected: ControlFileError, file: StaticString = #filePath, line: UInt = #line
    ) {
        XCTAssertThrowsError(try ControlFile.decode(bytes), file: file, line: line) { error in
            XCTAssertEqual(error as? ControlFileError, expected, file: file, line: line)
        }
    }

    /// Replaces one line of the sample file (or inserts/deletes), to build each bad case from a good one.
    func mutated(_ change: (inout [String]) -> Void) throws -> [UInt8] {
        var lines = String(decoding: try encoded(), as: UTF8.self).split(
            separator: "\n", omittingEmptySubsequences: false
        ).map(String.init)
        XCTAssertEqual(lines.removeLast(), "")
        change(&lines)
        return text(lines.joined(separator: "\n") + "\n")
    }

    // MARK: format

    func testExampleIsReadable() throws {
        let e = Envelope(
            queueID: Self.id, sender: "alice@example.test",
            recipients: [Recipient(address: "bob@example.test", localUser: "bob")],
            arrival: 1_700_000_000, clientAddress: "192.0.2.1", clientHelo: "mail.example.test", size: 1234)
        XCTAssertEqual(
            String(decoding: try ControlFile.encode(e), as: UTF8.self),
            """
            postern-control 1
            id 0123456789AB
            sender 18:alice@example.test
            arrival 1700000000
            client 9:192.0.2.1
            helo 17:mail.example.test
            auth 0:
            size 1234
            attempts 0
            next-attempt 0
            rcpt pending 3:bob 16:bob@example.test 0:
            end

            """)
    }

    func testRoundTrip() throws {
        let e = sample()
        XCTAssertEqual(try ControlFile.decode(try encoded(e)), e)
    }

    func testRoundTripWithSpacesAndUTF8() throws {
        var e = sample()
        e.sender = "\"j. doe\"@exämple.test"
        XCTAssertEqual(try ControlFile.decode(try encoded(e)), e)
        e.clientHelo = "héllo wörld  "
        e.authUser = " "
        e.recipients = [
            Recipient(
                address: "用户@例子.测试", localUser: "ü ser", state: .pending, lastResult: "451 4.3.0 try again: later 12:x"),
            Recipient(address: "a b@c", localUser: "", state: .failed, lastResult: "end"),
            Recipient(address: "", localUser: "rcpt pending 1:a", state: .delivered, lastResult: "\t tab 🙂"),
        ]
        e.sender = ""
        XCTAssertEqual(try ControlFile.decode(try encoded(e)), e)
    }

    func testRoundTripLimits() throws {
        var e = sample()
        e.sender = String(repeating: "s", count: ControlFile.senderLimit)
        e.arrival = Int64.max
        e.size = 0
        e.attempts = Int32.max
        e.nextAttempt = Int64.max
        e.recipients = (0..<500).map { i in
            Recipient(
                address: String(repeating: "a", count: 256), localUser: "u\(i)",
                lastResult: String(repeating: "r", count: 1024))
        }
        XCTAssertEqual(try ControlFile.decode(try encoded(e)), e)
    }

    // MARK: encode refusals

    func testEncodeRefusesCRLFNULInEveryField() {
        for bad in ["a\rb", "a\nb", "a\0b", "\r\n", "x\n.\nrcpt pending 1:x 1:x 0:"] {
            var cases: [Envelope] = []
            var e = sample(); e.sender = bad; cases.append(e)
            e = sample(); e.clientAddress = bad; cases.append(e)
            e = sample(); e.clientHelo = bad; cases.append(e)
            e = sample(); e.authUser = bad; cases.append(e)
            e = sample(); e.recipients[0].address = bad; cases.append(e)
            e = sample(); e.recipients[1].localUser = bad; cases.append(e)
            e = sample(); e.recipients[2].lastResult = bad; cases.append(e)
            for c in cases {
                XCTAssertThrowsError(try ControlFile.encode(c)) { error in
                    guard case .invalidEnvelope(.forbiddenCharacter) = error as? ControlFileError else {
                        return XCTFail("unexpected \(error)")
                    }
                }
            }
        }
    }

    func testEncodeRefusesWhatDecodeWould() {
        var e = sample(); e.recipients = []
        XCTAssertThrowsError(try ControlFile.encode(e)) { XCTAssertEqual($0 as? ControlFileError, .noRecipients) }
        e = sample(); e.size = -1
        XCTAssertThrowsError(try ControlFile.encode(e)) {
            XCTAssertEqual($0 as? ControlFileError, .negativeNumber(field: "size"))
        }
        e = sample(); e.attempts = -1
        XCTAssertThrowsError(try ControlFile.encode(e)) {
            XCTAssertEqual($0 as? ControlFileError, .negativeNumber(field: "attempts"))
        }
        e = sample(); e.sender = String(repeating: "x", count: 257)
        XCTAssertThrowsError(try ControlFile.encode(e)) {
            XCTAssertEqual($0 as? ControlFileError, .invalidEnvelope(.tooLong(field: "sender", limit: 256)))
        }
        // ~1.4 KiB per recipient line at the limits: 800 of them pass 1 MiB.
        e = sample()
        e.recipients = Array(
            repeating: Recipient(
                address: String(repeating: "a", count: 256), localUser: String(repeating: "u", count: 64),
                lastResult: String(repeating: "r", count: 1024)), count: 800)
        XCTAssertThrowsError(try ControlFile.encode(e)) { error in
            guard case .encodedTooLarge = error as? ControlFileError else { return XCTFail("unexpected \(error)") }
        }
    }

    // MARK: decode refusals

    func testEveryPrefixIsRefused() throws {
        let full = try encoded()
        for n in 0..<full.count {
            XCTAssertThrowsError(try ControlFile.decode(Array(full[0..<n])), "prefix \(n)") { error in
                XCTAssertEqual(error as? ControlFileError, .noEndMarker, "prefix \(n)")
            }
        }
        XCTAssertNoThrow(try ControlFile.decode(full))
    }

    func testForbiddenBytesAnywhere() throws {
        let full = try encoded()
        for offset in stride(from: 0, to: full.count, by: 7) {
            for byte: UInt8 in [0, 0x0D] {
                var bytes = full
                bytes[offset] = byte
                assertDecodeFails(bytes, .forbiddenByte(offset: offset))
                bytes = full
                bytes.insert(byte, at: offset)
                assertDecodeFails(bytes, .forbiddenByte(offset: offset))
            }
        }
        // A CRLF file (edited on the wrong system) is refused, not half-read.
        let crlf = text(String(decoding: full, as: UTF8.self).replacingOccurrences(of: "\n", with: "\r\n"))
        XCTAssertThrowsError(try ControlFile.decode(crlf))
    }

    func testLFInsideValueIsRefused() throws {
        // What an unchecked writer would produce for sender "a\nrcpt ...": the
        // length no longer matches the line, so no record is forged.
        let bytes = try mutated { $0[2] = "sender 29:x\nrcpt pending 1:x 1:x 0:" }
        assertDecodeFails(bytes, .lengthMismatch(line: 3))
    }

    func testUnknownKey() throws {
        assertDecodeFails(try mutated { $0.insert("color 4:blue", at: 3) }, .unknownKey(line: 4, key: "color"))
        assertDecodeFails(try mutated { $0.insert("Sender 1:x", at: 3) }, .unknownKey(line: 4, key: "Sender"))
        assertDecodeFails(try mutated { $0.insert("s\u{1}x 1:x", at: 3) }, .unknownKey(line: 4, key: "s\\x01x"))
    }

    func testDuplicateSingletonKeys() throws {
        let lines = String(decoding: try encoded(), as: UTF8.self).split(separator: "\n").map(String.init)
        for (index, line) in lines.enumerated() where index > 0 && !line.hasPrefix("rcpt") && line != "end" {
            let key = String(line.prefix(while: { $0 != " " }))
            assertDecodeFails(try mutated { $0.insert(line, at: index + 1) }, .duplicateKey(line: index + 2, key: key))
        }
    }

    func testMissingRequiredKeys() throws {
        for key in ControlFile.requiredKeys {
            let bytes = try mutated { $0.removeAll(where: { $0.hasPrefix(key + " ") }) }
            assertDecodeFails(bytes, .missingKey(key))
        }
        assertDecodeFails(try mutated { $0.removeAll(where: { $0.hasPrefix("rcpt ") }) }, .noRecipients)
    }

    func testKeysInAnyOrder() throws {
        let bytes = try mutated { lines in
            let body = Array(lines[1..<(lines.count - 1)].reversed())
            lines = [lines[0]] + body + ["end"]
        }
        var e = sample()
        e.recipients.reverse()
        XCTAssertEqual(try ControlFile.decode(bytes), e)
    }

    func testLengthMismatch() throws {
        for bad in [
            "sender 19:alice@example.test", "sender 17:alice@example.test", "sender 18:alice@example.test ",
            "sender 1000:alice@example.test", "sender alice@example.test", "sender :alice@example.test",
            "sender 018:alice@example.test", "sender -18:alice@example.test", "sender 99999999:x",
            "sender 18alice@example.test",
        ] {
            assertDecodeFails(try mutated { $0[2] = bad }, .lengthMismatch(line: 3))
        }
        for bad in [
            "rcpt pending 3:bob 16:bob@example.test", "rcpt pending 3:bob 16:bob@example.test 0:x",
            "rcpt pending 3:bob 16:bob@example.test 0: ", "rcpt pending 4:bob 16:bob@example.test 0:",
            "rcpt pending 3:bob  16:bob@example.test 0:", "rcpt pending 3:bob16:bob@example.test 0:",
            "rcpt pending", "rcpt pending ",
        ] {
            assertDecodeFails(try mutated { $0[10] = bad }, .lengthMismatch(line: 11))
        }
    }

    func testBadNumbers() throws {
        for bad in [
            "", "-1", "+1", "01", "1 ", " 1", "1a", "0x10", "9223372036854775808", "99999999999999999999", "1e3", "１",
        ] {
            assertDecodeFails(try mutated { $0[3] = "arrival " + bad }, .badNumber(line: 4))
            assertDecodeFails(try mutated { $0[7] = "size " + bad }, .badNumber(line: 8))
        }
        assertDecodeFails(try mutated { $0[8] = "attempts 2147483648" }, .badNumber(line: 9))
        XCTAssertEqual(try ControlFile.decode(try mutated { $0[8] = "attempts 2147483647" }).attempts, Int32.max)
        XCTAssertEqual(try ControlFile.decode(try mutated { $0[3] = "arrival 0" }).arrival, 0)
    }

    func testInvalidQueueID() throws {
        for bad in ["", "0123456789A", "0123456789ABC", "0123456789Ab", "0123456789AI", "0123456789A ", "../etc/pass"] {
            assertDecodeFails(try mutated { $0[1] = "id " + bad }, .invalidQueueID(line: 2))
        }
    }

    func testBadState() throws {
        for bad in ["Pending", "0", "", "deferred"] {
            assertDecodeFails(try mutated { $0[10] = "rcpt \(bad) 3:bob 16:bob@example.test 0:" }, .badState(line: 11))
        }
    }

    func testInvalidFieldContent() throws {
        var bytes = try mutated { $0[2] = "sender 2:xx" }
        let line = Array("postern-control 1\nid 0123456789AB\nsender 2:".utf8)
        XCTAssertEqual(Array(bytes[0..<line.count]), line)
        bytes[line.count] = 0xFF
        assertDecodeFails(bytes, .invalidField(line: 3, .invalidUTF8(field: "sender")))
        let long = String(repeating: "c", count: 65)
        assertDecodeFails(
            try mutated { $0[4] = "client 65:" + long }, .invalidField(line: 5, .tooLong(field: "client", limit: 64)))
    }

    func testHeader() throws {
        assertDecodeFails(try mutated { $0[0] = "postern-control 2" }, .unsupportedVersion)
        assertDecodeFails(try mutated { $0[0] = "postern-control  1" }, .unsupportedVersion)
        assertDecodeFails(try mutated { $0[0] = "postfix-control 1" }, .badHeader)
        assertDecodeFails(try mutated { $0.remove(at: 0) }, .badHeader)
        assertDecodeFails(text("end\n"), .badHeader)
        assertDecodeFails(text("postern-control 1\nend\n"), .missingKey("id"))
    }

    func testEndMarker() throws {
        assertDecodeFails(try encoded() + text("x"), .dataAfterEnd(line: 15))
        assertDecodeFails(try encoded() + text("\n"), .dataAfterEnd(line: 15))
        assertDecodeFails(try encoded() + text("end\n"), .dataAfterEnd(line: 15))
        assertDecodeFails(try mutated { $0.insert("end", at: 5) }, .dataAfterEnd(line: 7))
        assertDecodeFails(try mutated { $0[$0.count - 1] = "end " }, .noEndMarker)
        assertDecodeFails(try mutated { $0[$0.count - 1] = "END" }, .noEndMarker)
    }

    func testMalformedLines() throws {
        assertDecodeFails(try mutated { $0.insert("", at: 3) }, .malformedLine(line: 4))
        assertDecodeFails(try mutated { $0.insert("sender", at: 3) }, .malformedLine(line: 4))
        assertDecodeFails(try mutated { $0.insert(" sender 1:x", at: 3) }, .malformedLine(line: 4))
    }

    func testTooLarge() {
        let big = [UInt8](repeating: UInt8(ascii: "a"), count: ControlFile.maxSize + 1)
        assertDecodeFails(big, .tooLarge(size: ControlFile.maxSize + 1))
    }

    func testDescriptionsAreSingleSanitizedLines() {
        let errors: [ControlFileError] = [
            .unknownKey(line: 1, key: ControlFile.sanitize(Array("a\nb\"c\\".utf8))),
            .invalidField(line: 2, .forbiddenCharacter(field: "sender")), .noEndMarker,
        ]
        for e in errors { XCTAssertFalse(e.description.contains("\n")) }
        XCTAssertEqual(ControlFile.sanitize(Array("a\nb\"c\\ d".utf8)), "a\\x0ab\\x22c\\x5c\\x20d")
        XCTAssertEqual(ControlFile.sanitize(Array(repeating: UInt8(ascii: "z"), count: 70), limit: 4), "zzzz...")
    }

    /// Deterministic mutation fuzzing: any result is fine but a trap, and
    /// whatever decodes must be a valid envelope that encodes back.
    func testMutationsNeverCrash() throws {
        let full = try encoded()
        var rng = SplitMix(seed: 0x5EED)
        let interesting: [UInt8] = [0, 0x0A, 0x0D, 0x20, 0x3A, 0x30, 0x39, 0x2D, 0x80, 0xFF, UInt8(ascii: "e")]
        for _ in 0..<20_000 {
            var bytes = full
            for _ in 0..<(1 + Int(rng.next() % 3)) {
                guard !bytes.isEmpty else { break }
                let at = Int(rng.next() % UInt64(bytes.count))
                let value =
                    rng.next() % 2 == 0
                    ? interesting[Int(rng.next() % UInt64(interesting.count))] : UInt8(truncatingIfNeeded: rng.next())
                switch rng.next() % 3 {
                case 0: bytes[at] = value
                case 1: bytes.insert(value, at: at)
                default: bytes.remove(at: at)
                }
            }
            if let e = try? ControlFile.decode(bytes) {
                XCTAssertNoThrow(try e.validate())
                XCTAssertEqual(try ControlFile.decode(try ControlFile.encode(e)), e)
            }
        }
    }
}

struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E3779B97F4A7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58476D1CE4E5B9
        z = (z ^ (z >> 27)) &* 0x94D049BB133111EB
        return z ^ (z >> 31)
    }
}
