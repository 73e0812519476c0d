/// The queue's control file reader (`ControlFile.decode`): it reads what
/// may have been tampered with or torn. What it accepts must be a valid
/// envelope that the writer can write back and read again unchanged; what
/// it refuses must be described in text safe for a log line.
///
/// Each input is decoded as it is, and again with its length prefixes
/// recomputed (so that the fuzzer reaches the field checks without having
/// to count bytes): in `key N:value` lines N becomes the value's length,
/// and in `rcpt`/`dsn` lines each space-separated `N:value` word's.
import FuzzSupport
import PosternCore

@testable import PosternQueue

@_cdecl("LLVMFuzzerTestOneInput")
func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let input = fuzzBytes(data, size)
    checkDecode(input)
    let repaired = repairLengths(input)
    if repaired != input { checkDecode(repaired) }
    return 0
}

@_cdecl("fuzz_control_main")
func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    runFuzzer(argc, argv, testOneInput)
}

func checkDecode(_ input: [UInt8]) {
    let envelope: Envelope
    do throws(ControlFileError) {
        envelope = try ControlFile.decode(input)
    } catch {
        trace("refused: \(error)")
        let text = error.description
        check(isTextString(text) && !text.contains("\t"), "error text not printable: \(escaped(text))")
        return
    }
    trace("decoded: \(envelope)")
    check((try? envelope.validate()) != nil, "decoded an envelope that does not validate: \(escaped(input))")
    check(!envelope.recipients.isEmpty, "decoded an envelope without recipients")
    check(
        envelope.arrival >= 0 && envelope.size >= 0 && envelope.attempts >= 0 && envelope.nextAttempt >= 0,
        "negative number decoded")
    do throws(ControlFileError) {
        let written = try ControlFile.encode(envelope)
        let reread = try ControlFile.decode(written)
        check(reread == envelope, "write and read back changed the envelope")
    } catch {
        check(false, "a decoded envelope cannot be written back: \(error)")
    }
}

let singleStringKeys: Set<String> = ["sender", "client", "helo", "auth", "envid"]

func repairLengths(_ input: [UInt8]) -> [UInt8] {
    var output: [UInt8] = []
    output.reserveCapacity(input.count + 16)
    let lines = input.split(separator: 0x0A, omittingEmptySubsequences: false)
    for (index, line) in lines.enumerated() {
        if index > 0 { output.append(0x0A) }
        guard let space = line.firstIndex(of: 0x20) else {
            output += line
            continue
        }
        let key = String(decoding: line[..<space], as: UTF8.self)
        let rest = line[(space + 1)...]
        output += line[...space]
        if singleStringKeys.contains(key) {
            output += lengthPrefixed(rest)
        } else if key == "rcpt" || key == "dsn" {
            // The first word (state, or NOTIFY) stays; every later word is a value.
            let words = rest.split(separator: 0x20, omittingEmptySubsequences: false)
            for (position, word) in words.enumerated() {
                if position > 0 { output.append(0x20) }
                output += position == 0 ? Array(word) : lengthPrefixed(word)
            }
        } else {
            output += rest
        }
    }
    return output
}

/// `N:value` with N the value's length; the value is what follows the
/// first colon, or the whole text when it has none.
func lengthPrefixed(_ text: ArraySlice<UInt8>) -> [UInt8] {
    let value = text.firstIndex(of: 0x3A).map { text[($0 + 1)...] } ?? text
    return Array("\(value.count):".utf8) + value
}
