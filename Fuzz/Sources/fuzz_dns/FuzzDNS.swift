/// The DNS response decoder (`DNSMessage.decode`), which reads whatever a
/// server, or someone spoofing one, sends. Names and TXT strings come out
/// in the canonical escaped form (nothing that can break a log line or an
/// SMTP reply), counts never exceed the header's, and the question-only
/// read agrees with the full one.
import FuzzSupport

@testable import PosternLookup

@_cdecl("LLVMFuzzerTestOneInput")
func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let packet = fuzzBytes(data, size)
    var head: DNSMessage?
    do throws(DNSError) {
        head = try DNSMessage.decode(packet, records: false)
    } catch {
        checkError(error)
    }
    let message: DNSMessage
    do throws(DNSError) {
        message = try DNSMessage.decode(packet)
    } catch {
        trace("refused: \(error)")
        checkError(error)
        return 0
    }
    trace("decoded: \(message)")
    guard let head else { check(false, "full decode succeeded, question-only decode failed"); return 0 }
    check(head.answers.isEmpty, "question-only decode returned answers")
    check(
        head.id == message.id && head.isResponse == message.isResponse && head.opcode == message.opcode
            && head.rcode == message.rcode && head.question == message.question
            && head.truncated == message.truncated && head.authoritative == message.authoritative,
        "question-only decode disagrees with the full one")
    let answerCount = Int(packet[6]) << 8 | Int(packet[7])
    check(message.answers.count <= answerCount, "\(message.answers.count) answers, header says \(answerCount)")
    if let question = message.question { checkName(question.name) }
    for record in message.answers {
        checkName(record.name)
        check(record.ttl <= UInt32(Int32.max), "TTL \(record.ttl)")
        switch record.data {
        case .a(let bytes):
            check(bytes.count == 4 && record.type == 1, "A record of \(bytes.count) bytes")
        case .aaaa(let bytes):
            check(bytes.count == 16 && record.type == 28, "AAAA record of \(bytes.count) bytes")
        case .mx(_, let exchange):
            checkName(exchange)
        case .ptr(let name), .cname(let name):
            checkName(name)
        case .txt(let strings):
            for string in strings {
                check(string.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F }, "TXT \(escaped(string))")
            }
            let reason = DNSBL.shortened(strings.joined(separator: " "))
            check(isTextString(reason), "DNSBL reason \(escaped(reason))")
        case .other(let type, _):
            check(
                type == record.type && DNSRecordType(rawValue: type).map { [.ns, .soa].contains($0) } ?? true,
                "known type \(type) left undecoded")
        }
    }
    // The resolver's CNAME walk over whatever came back ends.
    if let question = message.question {
        _ = DNSResolver.follow(message.answers, from: question.name, type: question.type)
    }
    return 0
}

@_cdecl("fuzz_dns_main")
func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    runFuzzer(argc, argv, testOneInput)
}

func checkError(_ error: DNSError) {
    let text = "\(error)"
    check(isTextString(text), "error text not printable: \(escaped(text))")
}

/// Canonical text: lowercase letters, digits, "-", "_", "\DDD" escapes,
/// labels joined by single dots; a plain name is its own canonical form.
func checkName(_ name: String) {
    check(name.utf8.count <= 255 * 4, "name of \(name.utf8.count) characters")
    let bytes = Array(name.utf8)
    var index = 0
    var labelLength = 0
    while index < bytes.count {
        let byte = bytes[index]
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"),
            UInt8(ascii: "_"):
            labelLength += 1
            index += 1
        case UInt8(ascii: "\\"):
            check(
                index + 3 < bytes.count && bytes[(index + 1)...(index + 3)].allSatisfy { $0 >= 0x30 && $0 <= 0x39 },
                "bad escape in \(escaped(name))")
            labelLength += 1
            index += 4
        case UInt8(ascii: "."):
            check(labelLength > 0, "empty label in \(escaped(name))")
            labelLength = 0
            index += 1
        default:
            check(false, "byte \(byte) in name \(escaped(name))")
        }
    }
    check(bytes.isEmpty || labelLength > 0, "name ends with a dot: \(escaped(name))")
    if !name.isEmpty && !name.contains("\\") && name.utf8.count <= DNSName.maxTextLength {
        let canonical = try? DNSName.canonical(name)
        check(canonical == name, "\(escaped(name)) is not canonical: \(String(describing: canonical))")
    }
}
