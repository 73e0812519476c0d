import XCTest

@testable import PosternLocal

/// The pure parts of the mbox writer: the From_ line, header validation and
/// the mboxrd transform, including every way a chunk boundary can cut a line.
final class MboxEncoderTests: XCTestCase {

    // MARK: From_ line and headers

    func testFromLineUsesAsctimeFormatInUTC() throws {
        XCTAssertEqual(
            try string(MboxPreamble.fromLine(sender: "alice@example.test", arrival: 1_795_434_480)),
            "From alice@example.test Mon Nov 23 11:48:00 2026\n")
        // asctime pads a one-digit day with a space, not a zero.
        XCTAssertEqual(
            try string(MboxPreamble.fromLine(sender: "bob@example.test", arrival: 1_793_689_509)),
            "From bob@example.test Tue Nov  3 07:05:09 2026\n")
        XCTAssertEqual(
            try string(MboxPreamble.fromLine(sender: "x@y", arrival: 0)),
            "From x@y Thu Jan  1 00:00:00 1970\n")
    }

    func testNullSenderIsMailerDaemon() throws {
        XCTAssertEqual(
            try string(MboxPreamble.fromLine(sender: "", arrival: 0)),
            "From MAILER-DAEMON Thu Jan  1 00:00:00 1970\n")
    }

    func testSenderWhitespaceAndControlBytesCannotBreakTheFromLine() throws {
        XCTAssertEqual(
            try string(MboxPreamble.fromLine(sender: "\"john doe\"@x\r\nFrom evil", arrival: 0)),
            "From \"john_doe\"@x__From_evil Thu Jan  1 00:00:00 1970\n")
    }

    func testArrivalThatGmtimeCannotExpressIsRejected() {
        XCTAssertThrowsError(try MboxPreamble.fromLine(sender: "a@b", arrival: Int64.max)) { error in
            guard case MboxError.invalidArgument = error else {
                return XCTFail("unexpected error \(error)")
            }
        }
    }

    func testHeaderLinesAreValidated() throws {
        XCTAssertEqual(
            try string(MboxPreamble.headerLines(["Delivered-To: alice@example.test", "Return-Path: <a@x>"])),
            "Delivered-To: alice@example.test\nReturn-Path: <a@x>\n")
        XCTAssertEqual(try MboxPreamble.headerLines([]), [])
        for bad in [
            "X-Evil: a\r\nFrom b", "X-Evil: a\nb", "From evil Mon", "no colon", ": empty name",
            "Bad Name: x", "X-Nul: a\u{0}b",
        ] {
            XCTAssertThrowsError(try MboxPreamble.headerLines(["Ok: 1", bad]), bad.debugDescription) { error in
                guard case MboxError.invalidArgument = error else {
                    return XCTFail("unexpected error \(error) for \(bad.debugDescription)")
                }
            }
        }
    }

    // MARK: mboxrd transform

    func testQuotingAndLineEnds() {
        let cases: [(String, String)] = [
            ("Subject: x\r\n\r\nbody\r\n", "Subject: x\n\nbody\n\n"),
            ("From me\r\n", ">From me\n\n"),
            (">From me\r\n", ">>From me\n\n"),
            (">>>From me\r\n", ">>>>From me\n\n"),
            ("a From b\r\n", "a From b\n\n"),
            ("From\r\n", "From\n\n"),  // no space: not a separator
            ("Fromage\r\n", "Fromage\n\n"),
            (">Fro\r\n", ">Fro\n\n"),
            ("> From x\r\n", "> From x\n\n"),
            ("from x\r\n", "from x\n\n"),
            ("x\r\nFrom y\r\nFrom z\r\n", "x\n>From y\n>From z\n\n"),
            ("a\rFrom b\r\n", "a\rFrom b\n\n"),  // lone CR is content, not a line end
            ("a\r\r\nb\r\n", "a\r\nb\n\n"),
            ("bare\nFrom lf\n", "bare\n>From lf\n\n"),
            ("no newline at end", "no newline at end\n\n"),
            ("ends with CR\r", "ends with CR\r\n\n"),
            ("ends in From", "ends in From\n\n"),
            ("x\r\nFrom", "x\nFrom\n\n"),
            ("x\r\n>>", "x\n>>\n\n"),
            ("", "\n"),
        ]
        for (input, expected) in cases {
            XCTAssertEqual(encodeWhole(input), expected, "input \(input.debugDescription)")
        }
    }

    func testEveryChunkSplitOfATrickyMessageMatchesTheReference() {
        let message =
            Array(
                "From x\r\nA\r\n>From y\r\n>>From z\r\nFrom\r\n\r\nFromFrom \r\nx From y\r\n\r\r\n>\r\nFrom ".utf8)
            + Array("\r\n>>>From end\r".utf8)
        let expected = referenceEncode(message)
        for chunk in 1...message.count {
            XCTAssertEqual(encodeInChunks(message, chunk: chunk), expected, "chunk size \(chunk)")
        }
        // And every single cut point with two pieces.
        for cut in 0...message.count {
            var encoder = MboxrdEncoder()
            var out: [UInt8] = []
            encoder.encode(Array(message[..<cut]), into: &out)
            encoder.encode(Array(message[cut...]), into: &out)
            encoder.finish(into: &out)
            XCTAssertEqual(out, expected, "cut at \(cut)")
        }
    }

    func testRandomMessagesInRandomChunksMatchTheReference() {
        var rng = SplitMix64(seed: 0x5EED_CAFE)
        let alphabet = Array("From >\r\nx".utf8)
        for round in 0..<400 {
            let length = Int(rng.next() % 200)
            let message = (0..<length).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] }
            let expected = referenceEncode(message)
            var encoder = MboxrdEncoder()
            var out: [UInt8] = []
            var index = 0
            while index < message.count {
                let size = 1 + Int(rng.next() % 9)
                let end = min(message.count, index + size)
                encoder.encode(Array(message[index..<end]), into: &out)
                index = end
            }
            encoder.finish(into: &out)
            XCTAssertEqual(
                out, expected, "round \(round): \(String(decoding: message, as: UTF8.self).debugDescription)")
        }
    }

    func testReferenceItselfQuotesAsSpecified() {
        // Guards the oracle: if it were wrong the same way as the encoder,
        // the comparison tests above would pass vacuously.
        XCTAssertEqual(
            String(decoding: referenceEncode(Array(">From a\r\nFrom b\r\nc From\r\n".utf8)), as: UTF8.self),
            ">>From a\n>From b\nc From\n\n")
    }

    // MARK: helpers

    private func string(_ bytes: [UInt8]) -> String {
        String(decoding: bytes, as: UTF8.self)
    }

    private func encodeWhole(_ input: String) -> String {
        string(encodeInChunks(Array(input.utf8), chunk: max(1, input.utf8.count)))
    }

    private func encodeInChunks(_ message: [UInt8], chunk: Int) -> [UInt8] {
        var encoder = MboxrdEncoder()
        var out: [UInt8] = []
        var index = 0
        while index < message.count {
            let end = min(message.count, index + chunk)
            encoder.encode(Array(message[index..<end]), into: &out)
            index = end
        }
        encoder.finish(into: &out)
        return out
    }
}

/// A deliberately naive mboxrd encoder over the whole message, written
/// differently from the streaming one (replace, split, regex-like match), to
/// serve as the oracle.
func referenceEncode(_ message: [UInt8]) -> [UInt8] {
    var text: [UInt8] = []
    var i = 0
    while i < message.count {
        if message[i] == 0x0D, i + 1 < message.count, message[i + 1] == 0x0A {
            text.append(0x0A)
            i += 2
        } else {
            text.append(message[i])
            i += 1
        }
    }
    // The preamble already ends in a line end, so an empty message is just
    // the separating blank line.
    if text.isEmpty { return [0x0A] }
    var lines = text.split(separator: 0x0A, omittingEmptySubsequences: false).map(Array.init)
    let endsWithNewline = text.last == 0x0A
    if endsWithNewline { lines.removeLast() }
    var out: [UInt8] = []
    for line in lines {
        let rest = line.drop(while: { $0 == UInt8(ascii: ">") })
        if rest.starts(with: Array("From ".utf8)) {
            out.append(UInt8(ascii: ">"))
        }
        out.append(contentsOf: line)
        out.append(0x0A)
    }
    out.append(0x0A)
    return out
}

/// Deterministic generator so a failing random case can be reproduced.
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
