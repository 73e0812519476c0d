/// What the submit process reads from local users, who may write anything:
/// a drop file (envelope, then a message held to the command's rules) and
/// a request line on submit.sock. Decoding is strict and bounded, never a
/// crash; what decodes re-encodes to the same envelope; a message that
/// passes the reader is canonical (CR LF only, no NUL, lines ≤ 998).
import FuzzSupport
import LocalSubmission

@_cdecl("LLVMFuzzerTestOneInput")
func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = fuzzBytes(data, size)
    if let decoded = try? DropEnvelope.decode(bytes) {
        let again = try? DropEnvelope.decode(decoded.envelope.encoded)
        check(again?.envelope == decoded.envelope, "an envelope that does not round-trip")
        var reader = SubmissionReader(ignoreDots: true, maxMessageSize: 1 << 20)
        if let message = try? reader.consume(bytes[decoded.messageOffset...]) + reader.finish() {
            checkCanonical(message)
        }
    }
    var reader = SubmissionReader(ignoreDots: bytes.first.map { $0 & 1 == 0 } ?? true, maxMessageSize: 1 << 20)
    if let message = try? reader.consume(bytes) + reader.finish() { checkCanonical(message) }
    for line in bytes.split(separator: 0x0A, omittingEmptySubsequences: false).prefix(4) {
        if let request = try? SubmitRequest.parse(line: Array(line)) {
            check(request.encoded != nil, "a parsed request that cannot be sent")
        }
    }
    return 0
}

/// CR only before LF, no NUL, no line over 998 octets.
func checkCanonical(_ message: [UInt8]) {
    var length = 0
    for (i, byte) in message.enumerated() {
        check(byte != 0, "NUL in a canonical message")
        if byte == 0x0D {
            check(i + 1 < message.count && message[i + 1] == 0x0A, "bare CR in a canonical message")
        } else if byte == 0x0A {
            check(i > 0 && message[i - 1] == 0x0D, "bare LF in a canonical message")
            length = 0
            continue
        }
        length += 1
        check(length <= 999, "a line over 998 octets")
    }
}

@_cdecl("fuzz_drop_main")
func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    runFuzzer(argc, argv, testOneInput)
}
