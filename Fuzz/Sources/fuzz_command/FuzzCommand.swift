/// The command line: `LineFramer` (checked against a model of its rules:
/// only CRLF ends a line, bare CR/LF and NUL refuse it, a bounded length)
/// and `SMTPCommand.parse` on the raw input and on every framed line.
import FuzzSupport
import SMTPFuzzSupport

@testable import SMTPProtocol

@_cdecl("LLVMFuzzerTestOneInput")
func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let input = fuzzBytes(data, size)
    checkParse(input)
    for line in checkFramer(input, maxLineLength: 512 + SMTPServerStateMachine.parameterLineAllowance) {
        if case .success(let bytes) = line { checkParse(bytes) }
    }
    _ = checkFramer(input, maxLineLength: 24)
    return 0
}

@_cdecl("fuzz_command_main")
func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    runFuzzer(argc, argv, testOneInput)
}

func parse(_ line: [UInt8]) -> Result<SMTPCommand, SMTPCommandError> {
    do throws(SMTPCommandError) {
        return .success(try SMTPCommand.parse(line))
    } catch {
        return .failure(error)
    }
}

func checkParse(_ line: [UInt8]) {
    let result = parse(line)
    // Trailing blanks are tolerated; the verb's case does not matter.
    check(parse(line + [ASCII.space, ASCII.tab, ASCII.space]) == result, "trailing blanks changed the parse")
    let verbEnd = min(4, line.firstIndex(of: ASCII.space) ?? line.count)
    var flipped = line
    for index in 0..<verbEnd where ASCII.isAlpha(flipped[index]) { flipped[index] ^= 0x20 }
    check(parse(flipped) == result, "the verb's case changed the parse of \(escaped(line))")

    switch result {
    case .failure(let error):
        checkReply(error.reply)
        check((500...599).contains(error.reply.code), "a refused command got \(error.reply.code)")
    case .success(let command):
        checkCommand(command, line)
    }
}

func checkCommand(_ command: SMTPCommand, _ line: [UInt8]) {
    switch command {
    case .helo(let name), .ehlo(let name):
        // It goes into the Received: header verbatim.
        check(!name.isEmpty && name.utf8.count <= 255, "HELO name length \(name.utf8.count)")
        check(name.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F }, "HELO name \(escaped(name)) not printable ASCII")
        check(firstRange(of: Array(name.utf8), in: line) != nil, "HELO name is not the client's bytes")
    case .mail(let path, let parameters):
        if case .mailbox(let mailbox) = path { checkMailbox(mailbox, line) }
        if let size = parameters.size { check(size >= 0, "negative SIZE") }
        if let auth = parameters.auth {
            check(!auth.isEmpty && auth.utf8.count <= 500, "AUTH= length \(auth.utf8.count)")
            check(isTextString(auth) && !auth.contains("\t"), "AUTH= \(escaped(auth)) not printable")
        }
        if let envid = parameters.envid {
            check(!envid.isEmpty && envid.utf8.count <= 100, "ENVID length \(envid.utf8.count)")
            check(isTextString(envid) && !envid.contains("\t"), "ENVID \(escaped(envid)) not printable")
        }
    case .rcpt(let mailbox, let parameters):
        checkMailbox(mailbox, line)
        if let notify = parameters.notify {
            check(!notify.isEmpty, "empty NOTIFY")
            check(!notify.contains(.never) || notify == .never, "NOTIFY=NEVER combined")
        }
        if let orcpt = parameters.orcpt {
            check(orcpt.utf8.count <= 500 && orcpt.contains(";"), "ORCPT \(escaped(orcpt))")
            check(isTextString(orcpt) && !orcpt.contains("\t"), "ORCPT \(escaped(orcpt)) not printable")
        }
    case .bdat(let size, _):
        check(size >= 0, "negative BDAT size")
    case .auth(let mechanism, let initialResponse):
        check(
            (1...20).contains(mechanism.utf8.count)
                && mechanism.utf8.allSatisfy { ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D || $0 == 0x5F },
            "mechanism \(escaped(mechanism))")
        // Base64 decodes to three quarters of its length at most.
        check((initialResponse?.count ?? 0) * 4 <= line.count * 3, "initial response longer than its text")
    case .data, .rset, .noop, .quit, .vrfy, .expn, .help, .etrn, .verb, .starttls:
        break
    }
}

/// The local part and the domain are kept as the client wrote them: each is
/// a run of the line's own bytes (nothing decoded, nothing repaired).
func checkMailbox(_ mailbox: MailboxAddress, _ line: [UInt8]) {
    checkAddress(mailbox.address, context: escaped(line))
    check(!mailbox.localPart.isEmpty && mailbox.localPart.utf8.count <= 64, "local part length")
    check(mailbox.domain.utf8.count <= 255, "domain length")
    check(firstRange(of: Array(mailbox.localPart.utf8), in: line) != nil, "local part not from the line")
    check(
        mailbox.domain.isEmpty || firstRange(of: Array(mailbox.domain.utf8), in: line) != nil,
        "domain not from the line")
}

/// Feeds `input` whole and one byte at a time; both must give exactly the
/// lines the model predicts.
func checkFramer(_ input: [UInt8], maxLineLength: Int) -> [Result<[UInt8], LineFramerError>] {
    let expected = modelLines(input, maxLineLength: maxLineLength)
    var whole = LineFramer(maxLineLength: maxLineLength)
    let wholeLines = frame(input, with: &whole, step: input.count)
    check(wholeLines == expected.lines, "framer lines differ from the model for \(escaped(input))")
    check(whole.hasPartialLine == !expected.rest.isEmpty, "hasPartialLine wrong for \(escaped(input))")
    var single = LineFramer(maxLineLength: maxLineLength)
    check(frame(input, with: &single, step: 1) == wholeLines, "framer depends on how the input is split")
    for case .success(let line) in wholeLines {
        check(line.count + 2 <= maxLineLength, "line longer than the limit")
        check(!line.contains(ASCII.cr) && !line.contains(ASCII.lf) && !line.contains(ASCII.nul), "CR/LF/NUL in a line")
    }
    return wholeLines
}

func frame(_ input: [UInt8], with framer: inout LineFramer, step: Int) -> [Result<[UInt8], LineFramerError>] {
    var lines: [Result<[UInt8], LineFramerError>] = []
    var start = 0
    while start < input.count {
        let end = min(start + max(step, 1), input.count)
        var offset = start
        while offset < end {
            let (consumed, line) = framer.consume(input[offset..<end])
            check(consumed > 0 && consumed <= end - offset, "consumed \(consumed) of \(end - offset)")
            offset += consumed
            if let line {
                lines.append(line)
            } else {
                check(offset == end, "no line, yet input left over")
            }
        }
        start = end
    }
    return lines
}

/// Every CR LF ends one line. A line is refused if its bytes other than CR
/// and LF exceed the limit, else if it holds a bare CR or LF, else if it
/// holds a NUL.
func modelLines(_ input: [UInt8], maxLineLength: Int) -> (lines: [Result<[UInt8], LineFramerError>], rest: [UInt8]) {
    var lines: [Result<[UInt8], LineFramerError>] = []
    var segment: [UInt8] = []
    var index = 0
    while index < input.count {
        if input[index] == ASCII.cr && index + 1 < input.count && input[index + 1] == ASCII.lf {
            let content = segment.filter { $0 != ASCII.cr && $0 != ASCII.lf }
            if content.count + 2 > maxLineLength {
                lines.append(.failure(.lineTooLong))
            } else if content.count != segment.count {
                lines.append(.failure(.bareLineEnding))
            } else if content.contains(ASCII.nul) {
                lines.append(.failure(.nul))
            } else {
                lines.append(.success(content))
            }
            segment = []
            index += 2
        } else {
            segment.append(input[index])
            index += 1
        }
    }
    return (lines, segment)
}
