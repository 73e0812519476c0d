import FuzzSupport
import SMTPProtocol

/// What every reply the server can send must look like on the wire
/// (RFC 5321 §4.2, RFC 3463, RFC 2034): a code from 2xx to 5xx, an enhanced
/// code of the same class or none, one line per text line, each ending in
/// CRLF and nothing else breaking it, at most 512 octets a line.
public func checkReply(_ reply: SMTPReply) {
    check((200...599).contains(reply.code), "reply code \(reply.code) outside 2xx-5xx")
    checkEnhancedCode(reply.enhanced, code: reply.code)
    let rendered = reply.rendered
    check(
        rendered.count >= 5 && rendered.suffix(2).elementsEqual([0x0D, 0x0A]),
        "reply does not end with CRLF: \(escaped(rendered))")
    var lines: [ArraySlice<UInt8>] = []
    var start = rendered.startIndex
    var index = rendered.startIndex
    while index < rendered.endIndex {
        let byte = rendered[index]
        if byte == 0x0D {
            check(
                index + 1 < rendered.endIndex && rendered[index + 1] == 0x0A,
                "bare CR in reply: \(escaped(rendered))")
            lines.append(rendered[start..<index])
            index += 2
            start = index
            continue
        }
        check(byte != 0x0A, "bare LF in reply: \(escaped(rendered))")
        check(byte == 0x09 || (byte >= 0x20 && byte < 0x7F), "reply byte \(byte) not printable: \(escaped(rendered))")
        index += 1
    }
    check(start == rendered.endIndex, "reply text after the last CRLF: \(escaped(rendered))")
    check(lines.count == reply.lines.count, "reply has \(lines.count) lines, expected \(reply.lines.count)")
    let code = Array(String(reply.code).utf8)
    for (number, line) in lines.enumerated() {
        check(line.count + 2 <= 512, "reply line longer than 512 octets: \(escaped(line))")
        check(line.prefix(3).elementsEqual(code), "reply line without its code: \(escaped(line))")
        let isLast = number == lines.count - 1
        if line.count > 3 {
            let separator = line[line.startIndex + 3]
            check(separator == (isLast ? 0x20 : 0x2D), "bad separator after the code: \(escaped(rendered))")
        } else {
            check(isLast || line.count == 4, "continuation line without a hyphen: \(escaped(rendered))")
        }
    }
}

/// RFC 3463: `class "." subject "." detail`, class 2, 4 or 5 and the same as
/// the reply code's; empty where RFC 2034 §3 exempts a reply (greeting,
/// HELO/EHLO) and for 3xx, which has no enhanced class.
public func checkEnhancedCode(_ enhanced: String, code: Int) {
    guard !enhanced.isEmpty else { return }
    let parts = enhanced.split(separator: ".", omittingEmptySubsequences: false)
    check(parts.count == 3, "enhanced code \(escaped(enhanced)) is not class.subject.detail")
    check(
        parts[0].count == 1 && parts[0] == "\(code / 100)" && ["2", "4", "5"].contains(parts[0]),
        "enhanced code \(escaped(enhanced)) does not match reply code \(code)")
    for part in parts.dropFirst() {
        check(
            (1...3).contains(part.count) && part.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 },
            "enhanced code \(escaped(enhanced)) is malformed")
    }
}

/// An address the parser accepted, as it leaves the SMTP layer: within the
/// RFC 5321 path limit and free of every byte that could break a log line,
/// an IPC field or a control file.
public func checkAddress(_ address: String, allowUTF8: Bool = true, context: @autoclosure () -> String) {
    check(address.utf8.count <= 254, "address longer than a path allows: \(context())")
    check(!address.utf8.contains { $0 < 0x20 || $0 == 0x7F }, "control byte in an address: \(context())")
    check(allowUTF8 || address.utf8.allSatisfy { $0 < 0x80 }, "non-ASCII address without SMTPUTF8: \(context())")
}
