import MailVocabulary
import XCTest

@testable import LocalSubmission

final class DropFileTests: XCTestCase {
    private let random: [UInt8] = [
        0xDE, 0xAD, 0xBE, 0xEF, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0x0A, 0xFF,
    ]

    private var dropName: DropFileName {
        guard let name = DropFileName(uid: 1000, random: random) else { fatalError("16 bytes") }
        return name
    }

    private func full() -> DropEnvelope {
        var envelope = DropEnvelope(name: dropName, time: 1_796_691_131)
        envelope.sender = "bob@example.test"
        envelope.fullName = "Bob 100% Sm\u{EF}th"
        envelope.recipients = ["a@x", "root", "\"with space\"@y"]
        envelope.extractRecipients = true
        envelope.ignoreDots = true
        envelope.verbose = true
        envelope.errorMode = .mail
        envelope.deliveryMode = .interactive
        envelope.bodyType = .eightBitMIME
        envelope.notify = [.success, .failure]
        envelope.ret = .headers
        envelope.envelopeID = "id+1="
        envelope.logTag = "cron job"
        envelope.hopCount = 3
        return envelope
    }

    private func assertRefused(
        _ text: String, _ expected: DropFileError, file: StaticString = #filePath, line: UInt = #line
    ) {
        XCTAssertThrowsError(try DropEnvelope.decode(Array(text.utf8)), file: file, line: line) { error in
            XCTAssertEqual(error as? DropFileError, expected, file: file, line: line)
        }
    }

    private var head: String { "POSTERN-DROP 1\nname \(dropName)\nuid 1000\ntime 5\n" }

    // MARK: Names

    func testNameCodec() {
        XCTAssertEqual(dropName.description, "U1000.deadbeef00010203040506070809" + "0aff")
        XCTAssertEqual(DropFileName(dropName.description), dropName)
        XCTAssertNil(DropFileName(uid: 1, random: [1, 2, 3]))
        XCTAssertEqual(DropFileName("U0.00000000000000000000000000000000")?.uid, 0)
        XCTAssertEqual(DropFileName("U4294967295.00000000000000000000000000000000")?.uid, UInt32.max)
    }

    func testNameRejections() {
        let token = "deadbeef000102030405060708090aff"
        for bad in [
            "", "U1000", "U1000.", "u1000.\(token)", "U01000.\(token)", "U.\(token)", "U4294967296.\(token)",
            "U1000.\(token.uppercased())", "U1000.\(token)0", "U1000.\(token.dropLast())", "U1000.\(token).tmp",
            "U-1.\(token)", "U1000x\(token)", "../U1000.\(token)", "U1000.\(token.dropLast())g", "U+1000.\(token)",
        ] {
            XCTAssertNil(DropFileName(bad), bad)
        }
    }

    // MARK: Round trips

    func testMinimalRoundTrip() throws {
        let envelope = DropEnvelope(name: dropName, time: 0)
        let message = Array("Subject: x\r\n\r\nbody\r\n".utf8)
        let file = envelope.encoded + message
        XCTAssertEqual(
            String(decoding: envelope.encoded, as: UTF8.self),
            "POSTERN-DROP 1\nname \(dropName)\nuid 1000\ntime 0\nerror-mode p\ndelivery-mode b\n\n")
        let (decoded, offset) = try DropEnvelope.decode(file)
        XCTAssertEqual(decoded, envelope)
        XCTAssertNil(decoded.sender)
        XCTAssertEqual(Array(file[offset...]), message)
    }

    func testFullRoundTrip() throws {
        let envelope = full()
        let (decoded, offset) = try DropEnvelope.decode(envelope.encoded)
        XCTAssertEqual(decoded, envelope)
        XCTAssertEqual(offset, envelope.encoded.count)
        let text = String(decoding: envelope.encoded, as: UTF8.self)
        XCTAssertTrue(text.contains("full-name Bob%20100%25%20Sm%C3%AFth\n"), text)
        XCTAssertTrue(text.contains("recipient \"with%20space\"@y\n"), text)
    }

    func testNullSenderRoundTrips() throws {
        var envelope = DropEnvelope(name: dropName, time: 1)
        envelope.sender = ""
        XCTAssertTrue(String(decoding: envelope.encoded, as: UTF8.self).contains("\nsender \n"))
        XCTAssertEqual(try DropEnvelope.decode(envelope.encoded).envelope.sender, "")
    }

    func testFromInvocation() throws {
        let invocation = try SendmailArguments.parse(["-t", "-i", "-f", "<>", "-N", "never", "a@x, b@y"])
        let envelope = DropEnvelope(name: dropName, time: 9, invocation: invocation)
        XCTAssertEqual(envelope.sender, "")
        XCTAssertEqual(envelope.recipients, ["a@x", "b@y"])
        XCTAssertTrue(envelope.extractRecipients)
        XCTAssertEqual(envelope.notify, .never)
        XCTAssertEqual(try DropEnvelope.decode(envelope.encoded).envelope, envelope)
    }

    func testIncrementalDecodingByteByByte() throws {
        let envelope = full()
        let file = envelope.encoded + Array("message".utf8)
        var decoder = DropEnvelopeDecoder()
        var consumedTotal = 0
        var result: DropEnvelope?
        for index in file.indices {
            if let (decoded, consumed) = try decoder.consume(file[index...index]) {
                result = decoded
                consumedTotal = index + consumed
                break
            }
        }
        XCTAssertEqual(result, envelope)
        XCTAssertEqual(consumedTotal, envelope.encoded.count)
    }

    // MARK: Hostile files

    func testRefusals() {
        assertRefused("", .truncated)
        assertRefused("POSTERN-DROP 2\n\n", .notADropFile)
        assertRefused("\nPOSTERN-DROP 1\n", .notADropFile)
        assertRefused("POSTERN-DROP 1\r\n\n", .notADropFile)
        assertRefused(head, .truncated)
        assertRefused(head + "color blue\n\n", .unknownKey("color"))
        assertRefused(head + "sender a@x\nsender b@x\n\n", .duplicateKey("sender"))
        assertRefused(head + "uid 1000\n\n", .duplicateKey("uid"))
        assertRefused(head + "sender\n\n", .malformedLine(line: 5))
        assertRefused(head + "sender a b\n\n", .malformedLine(line: 5))
        assertRefused(head + "sender a@x\r\n\n", .malformedLine(line: 5))
        assertRefused(head + "sender %41@x\n\n", .malformedLine(line: 5))
        assertRefused(head + "sender %0a@x\n\n", .malformedLine(line: 5))
        assertRefused(head + "sender %FF\n\n", .malformedLine(line: 5))
        assertRefused(head + "sender %0D%0ABcc:%20x\n\n", .invalidValue(key: "sender"))
        assertRefused(head + "recipient \n\n", .invalidValue(key: "recipient"))
        assertRefused(head + "extract yes\n\n", .invalidValue(key: "extract"))
        assertRefused(head + "error-mode w\n\n", .invalidValue(key: "error-mode"))
        assertRefused(head + "delivery-mode d\n\n", .invalidValue(key: "delivery-mode"))
        assertRefused(head + "body 8BITMIME\n\n", .invalidValue(key: "body"))
        assertRefused(head + "notify never,success\n\n", .invalidValue(key: "notify"))
        assertRefused(head + "notify -\n\n", .invalidValue(key: "notify"))
        assertRefused(head + "ret headers\n\n", .invalidValue(key: "ret"))
        assertRefused(head + "envid a%20b\n\n", .invalidValue(key: "envid"))
        assertRefused(head + "hop-count 01\n\n", .invalidValue(key: "hop-count"))
        assertRefused(head + "hop-count 1001\n\n", .invalidValue(key: "hop-count"))
        assertRefused("POSTERN-DROP 1\nname \(dropName)\nuid 1001\ntime 5\n\n", .inconsistentUID)
        assertRefused("POSTERN-DROP 1\nname \(dropName)\nuid 01000\ntime 5\n\n", .invalidValue(key: "uid"))
        assertRefused("POSTERN-DROP 1\nname U1000.x\nuid 1000\ntime 5\n\n", .invalidValue(key: "name"))
        assertRefused("POSTERN-DROP 1\nuid 1000\ntime 5\n\n", .missingKey("name"))
        assertRefused("POSTERN-DROP 1\nname \(dropName)\ntime 5\n\n", .missingKey("uid"))
        assertRefused("POSTERN-DROP 1\nname \(dropName)\nuid 1000\n\n", .missingKey("time"))
        assertRefused("POSTERN-DROP 1\nname \(dropName)\nuid 1000\ntime -5\n\n", .invalidValue(key: "time"))
    }

    func testBounds() {
        let long = String(repeating: "a", count: DropEnvelopeDecoder.maxLineLength)
        assertRefused(head + "recipient \(long)\n\n", .lineTooLong(line: 5))
        let tooLongValue = String(repeating: "a", count: DropEnvelopeDecoder.maxValueLength + 1)
        assertRefused(head + "recipient \(tooLongValue)\n\n", .invalidValue(key: "recipient"))
        let many = String(repeating: "recipient a@x\n", count: DropEnvelopeDecoder.maxRecipients + 1)
        assertRefused(head + many + "\n", .tooManyRecipients)
        let huge = String(repeating: "recipient \(String(repeating: "b", count: 1_000))\n", count: 4_300)
        assertRefused(head + huge + "\n", .envelopeTooLarge)
    }

    func testUnknownKeyIsNotEchoedRaw() {
        assertRefused(head + "\u{1B}[31m x\n\n", .unknownKey("(unprintable)"))
    }

    func testPercentEncoding() {
        XCTAssertEqual(PercentEncoding.encode("a b%c\u{E9}\n"), "a%20b%25c%C3%A9%0A")
        XCTAssertEqual(PercentEncoding.decode(Array("a%20b%25c%C3%A9%0A".utf8)[...]), "a b%c\u{E9}\n")
        XCTAssertNil(PercentEncoding.decode(Array("%c3%a9".utf8)[...]))
        XCTAssertNil(PercentEncoding.decode(Array("%2".utf8)[...]))
        XCTAssertEqual(PercentEncoding.decode([][...]), "")
    }
}
