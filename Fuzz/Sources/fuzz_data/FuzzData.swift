/// The message content path: the DATA decoder (`DataReceiver`, both
/// bare-line-ending policies) and the content stage after it
/// (`MessageAssembler`, which BDAT chunks go through directly).
///
/// DataReceiver:
/// - the end of data is exactly the first CR LF "." CR LF (or "." CR LF at
///   the very start), whatever else the input holds (SMTP smuggling);
/// - the result does not depend on how the input is split into reads;
/// - content decoded from a dot-stuffed encoding is the original content.
/// MessageAssembler, on what DataReceiver decoded or (BDAT) the raw bytes:
/// - the verdict, and for an accepted message the output, do not depend on
///   how the content is split;
/// - an accepted message has a header section a strict reader reads the
///   same way, within the limits, with Date: and Message-ID: added when
///   missing; the output is the input with only those headers inserted.
///
/// Input: one byte of options (bit 0: normalize bare line endings; bit 1:
/// BDAT, the assembler takes the raw bytes; bit 2: small limits; bits 3-7:
/// the size of the reads, 1 to 32), then the data.
import FuzzSupport

@testable import SMTPProtocol

@_cdecl("LLVMFuzzerTestOneInput")
func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let input = fuzzBytes(data, size)
    guard let options = input.first else { return 0 }
    let body = Array(input.dropFirst())
    let policy: BareLineEndings = options & 1 == 0 ? .reject : .normalize
    let bdat = options & 2 != 0
    let small = options & 4 != 0
    let step = Int(options >> 3) + 1

    var content = body
    if !bdat {
        let whole = Decoded(body, policy: policy, step: body.count)
        whole.verify(body)
        let split = Decoded(body, policy: policy, step: step)
        check(split == whole, "the result depends on the read size (\(step)) for \(escaped(body))")
        let single = Decoded(body, policy: policy, step: 1)
        check(single == whole, "the result depends on the read size (1) for \(escaped(body))")
        checkRoundTrip(body, policy: policy)
        // What the session would hand on: a complete, unrefused message.
        guard whole.isComplete && !whole.sawNUL && !(whole.sawBareLineEnding && policy == .reject) else { return 0 }
        content = whole.output
    }
    checkAssembler(content, small: small, step: step, bdat: bdat)
    return 0
}

@_cdecl("fuzz_data_main")
func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    runFuzzer(argc, argv, testOneInput)
}

struct Decoded: Equatable {
    var output: [UInt8] = []
    var consumed = 0
    var isComplete = false
    var sawBareLineEnding = false
    var sawNUL = false
    var contentSize = 0

    init(_ input: [UInt8], policy: BareLineEndings, step: Int) {
        var receiver = DataReceiver(bareLineEndings: policy)
        var start = 0
        while start < input.count && !receiver.isComplete {
            let end = min(start + max(step, 1), input.count)
            let used = receiver.consume(input[start..<end], into: &output)
            check(used <= end - start, "consumed more than it was given")
            check(used == end - start || receiver.isComplete, "stopped early without the end of data")
            consumed += used
            start += used
        }
        isComplete = receiver.isComplete
        sawBareLineEnding = receiver.sawBareLineEnding
        sawNUL = receiver.sawNUL
        contentSize = receiver.contentSize
        if !receiver.isDoomed {
            check(output.count == contentSize, "contentSize \(contentSize) but \(output.count) bytes output")
        }
        check(output.count <= contentSize, "more output than content")
        // Output stops once the message is certain to be refused.
        if receiver.isDoomed { check(output.count < contentSize, "the refusing byte was output") }
    }

    func verify(_ input: [UInt8]) {
        let terminator: [UInt8] = [0x0D, 0x0A, 0x2E, 0x0D, 0x0A]
        var expectedEnd: Int?
        if input.starts(with: terminator.dropFirst(2)) {
            expectedEnd = 3
        } else if let start = firstRange(of: terminator, in: input) {
            expectedEnd = start + terminator.count
        }
        check(isComplete == (expectedEnd != nil), "end of data found: \(isComplete), in \(escaped(input))")
        check(consumed == (expectedEnd ?? input.count), "end of data at \(consumed) in \(escaped(input))")
        let read = input[..<consumed]
        check(sawNUL == read.contains(0), "sawNUL wrong")
        // No bare line ending was seen: the content is CRLF lines only.
        if !sawBareLineEnding && !sawNUL { check(hasOnlyCRLF(output), "bare CR/LF in the content") }
    }
}

/// True when every CR is followed by LF and every LF preceded by CR.
func hasOnlyCRLF(_ bytes: [UInt8]) -> Bool {
    for (index, byte) in bytes.enumerated() {
        if byte == 0x0D && (index + 1 == bytes.count || bytes[index + 1] != 0x0A) { return false }
        if byte == 0x0A && (index == 0 || bytes[index - 1] != 0x0D) { return false }
    }
    return true
}

/// Lines made from the input (split at LF, CR and LF removed), dot-stuffed
/// and terminated as a client sends them, decode to exactly those lines.
func checkRoundTrip(_ input: [UInt8], policy: BareLineEndings) {
    var content: [UInt8] = []
    var wire: [UInt8] = []
    if !input.isEmpty {
        for line in input.split(separator: 0x0A, omittingEmptySubsequences: false) {
            let clean = line.filter { $0 != 0x0D }
            content += clean + [0x0D, 0x0A]
            if clean.first == 0x2E { wire.append(0x2E) }
            wire += clean + [0x0D, 0x0A]
        }
    }
    wire += [0x2E, 0x0D, 0x0A]
    let trailing: [UInt8] = Array("MAIL FROM:<x@y>\r\n".utf8)
    let decoded = Decoded(wire + trailing, policy: policy, step: wire.count + trailing.count)
    check(decoded.isComplete && decoded.consumed == wire.count, "stuffed data not ended at its terminator")
    check(!decoded.sawBareLineEnding, "bare line ending in clean data")
    check(decoded.sawNUL == content.contains(0), "sawNUL wrong in clean data")
    if !decoded.sawNUL {
        check(decoded.output == content, "round trip changed \(escaped(content)) into \(escaped(decoded.output))")
    }
}

// MARK: - MessageAssembler

let addedDate = "Mon, 1 Jan 2024 00:00:00 +0000"
let addedMessageID = "<FZZQ00000001.20240101000000@mx.example.test>"

struct Assembled: Equatable {
    var output: [UInt8] = []
    var refusal: SMTPReply?
    var sizeExceeded = false

    init(_ content: [UInt8], limits: MessageAssembler.Limits, warnings: [String], step: Int) {
        var assembler = MessageAssembler(
            limits: limits, date: addedDate, messageID: addedMessageID, warnings: warnings)
        var start = 0
        while start < content.count {
            let end = min(start + max(step, 1), content.count)
            assembler.consume(content[start..<end], into: &output)
            start = end
        }
        assembler.finish(into: &output)
        check(assembler.contentSize == content.count, "content size \(assembler.contentSize) of \(content.count)")
        refusal = assembler.refusal
        sizeExceeded = assembler.sizeExceeded
    }
}

func checkAssembler(_ content: [UInt8], small: Bool, step: Int, bdat: Bool) {
    let limits = MessageAssembler.Limits(
        maxMessageSize: small ? 300 : 10_485_760, maxReceivedHeaders: small ? 2 : 100,
        maxHeaderSectionSize: small ? 120 : 1_048_576, maxHeaderLines: small ? 4 : 1000)
    let warnings = small ? ["mx.example.test: [192.0.2.1] didn't use HELO protocol"] : []
    let whole = Assembled(content, limits: limits, warnings: warnings, step: content.count)
    let split = Assembled(content, limits: limits, warnings: warnings, step: step)
    check(
        split.refusal == whole.refusal,
        "the verdict depends on the read size: \(String(describing: whole.refusal))"
            + " vs \(String(describing: split.refusal)) for \(escaped(content))")
    check(whole.sizeExceeded == (content.count > limits.maxMessageSize), "size limit wrong")
    if let refusal = whole.refusal {
        check((500...599).contains(refusal.code), "refused with \(refusal.code)")
        return
    }
    check(split.output == whole.output, "the output depends on the read size for \(escaped(content))")
    checkHeaderSection(whole.output, limits: limits, bdat: bdat)

    // The output is the content with our header lines inserted in one place
    // (and a line break before them when the content ended inside its
    // header section without one, or after them when it had none).
    var added = warnings.map { "X-Authentication-Warning: \($0)\r\n" }.joined()
    if !hasField(content, "date") { added += "Date: \(addedDate)\r\n" }
    if !hasField(content, "message-id") { added += "Message-ID: \(addedMessageID)\r\n" }
    let block = Array(added.utf8)
    guard !block.isEmpty else { return check(whole.output == content, "output differs from the content") }
    guard let at = firstRange(of: block, in: whole.output) else {
        return check(false, "added headers missing from \(escaped(whole.output))")
    }
    let rest = Array(whole.output[..<at]) + whole.output[(at + block.count)...]
    let crlf: [UInt8] = [0x0D, 0x0A]
    let crlfBefore = at >= 2 && rest[(at - 2)..<at].elementsEqual(crlf)
    let crlfAfter = at + 2 <= rest.count && rest[at..<(at + 2)].elementsEqual(crlf)
    let plausible =
        rest == content
        || (crlfBefore && Array(rest[..<(at - 2)]) + rest[at...] == content)
        || (crlfAfter && Array(rest[..<at]) + rest[(at + 2)...] == content)
    check(plausible, "output is not the content plus our headers: \(escaped(whole.output))")
}

/// Whether the header section (up to the first empty line) has this field;
/// a message whose first line is not a field has no header section.
func hasField(_ content: [UInt8], _ lowercasedName: String) -> Bool {
    var found = false
    var first = true
    var noHeaderSection = false
    forEachHeaderLine(content) { line in
        defer { first = false }
        guard !noHeaderSection, line.first != 0x20, line.first != 0x09 else { return }
        guard let name = fieldName(line) else {
            if first { noHeaderSection = true }
            return
        }
        if String(decoding: name, as: UTF8.self).lowercased() == lowercasedName { found = true }
    }
    return found && !noHeaderSection
}

/// The name of a field line (`name: value`, blanks allowed before the
/// colon), or nil if the line is not one.
func fieldName(_ line: ArraySlice<UInt8>) -> ArraySlice<UInt8>? {
    guard let colon = line.firstIndex(of: 0x3A) else { return nil }
    var name = line[..<colon]
    while let last = name.last, last == 0x20 || last == 0x09 { name = name.dropLast() }
    guard !name.isEmpty, name.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else { return nil }
    return name
}

/// Calls `body` with each line of the header section, without its line
/// ending (LF, or CR LF).
func forEachHeaderLine(_ message: [UInt8], _ body: (ArraySlice<UInt8>) -> Void) {
    var start = 0
    while start < message.count {
        let lineFeed = message[start...].firstIndex(of: 0x0A)
        let end = lineFeed ?? message.count
        var line = message[start..<end]
        if lineFeed != nil, line.last == 0x0D { line = line.dropLast() }
        start = end + 1
        if line.isEmpty { return }
        body(line)
    }
}

/// An accepted message's header section, read strictly (RFC 5322 §2.2):
/// fields and continuation lines to the first empty line, no bare CR, no
/// NUL, no line of blanks, the hop count and line count within the limits.
func checkHeaderSection(_ message: [UInt8], limits: MessageAssembler.Limits, bdat: Bool) {
    if !bdat { check(hasOnlyCRLF(message), "DATA message with a bare CR or LF: \(escaped(message))") }
    var received = 0
    var fields = 0
    var sawDate = false
    var sawMessageID = false
    forEachHeaderLine(message) { line in
        check(!line.contains(0x0D) && !line.contains(0), "bare CR or NUL in the header section")
        if line.first == 0x20 || line.first == 0x09 {
            check(fields > 0, "a continuation line before the first field: \(escaped(message))")
            check(!line.allSatisfy { $0 == 0x20 || $0 == 0x09 }, "a line of blanks in the header section")
            return
        }
        guard let name = fieldName(line) else {
            return check(false, "a header line that is not a field: \(escaped(line)) in \(escaped(message))")
        }
        fields += 1
        switch String(decoding: name, as: UTF8.self).lowercased() {
        case "received": received += 1
        case "date": sawDate = true
        case "message-id": sawMessageID = true
        default: break
        }
    }
    check(received <= limits.maxReceivedHeaders, "\(received) Received: fields accepted")
    check(sawDate && sawMessageID, "Date: or Message-ID: missing from \(escaped(message))")
}
