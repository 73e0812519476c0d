/// The access map reader (`AccessMap.parse`), on any text, and lookups of
/// the keys it holds: a bad line costs that line only, problems name real
/// lines, and every action a lookup returns is one the SMTP reply can carry
/// (a 4xx/5xx code, a matching enhanced code, printable text).
import FuzzSupport

@testable import PosternLookup

@_cdecl("LLVMFuzzerTestOneInput")
func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let text = String(decoding: fuzzBytes(data, size), as: UTF8.self)
    let (map, problems) = AccessMap.parse(text: text, file: "access")
    let lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
    trace("\(map.count) entries; problems:\n" + problems.map(\.description).joined(separator: "\n"))
    check(map.count <= lines.count, "\(map.count) entries from \(lines.count) lines")
    for problem in problems {
        check((1...lines.count).contains(problem.line), "problem on line \(problem.line) of \(lines.count)")
        check(!problem.description.contains("\n"), "line break in a problem: \(escaped(problem.description))")
    }

    var probes = ["192.0.2.1", "2001:db8::1", "example.com", "user@example.com", "<>", "postmaster"]
    for line in lines.prefix(64) {
        let key = line.trimmingMapBlanks.prefix(while: { $0 != " " && $0 != "\t" })
        guard !key.isEmpty else { continue }
        var bare = Substring(key)
        for tag in ["connect:", "from:", "to:"] where bare.lowercased().hasPrefix(tag) {
            bare = bare.dropFirst(tag.count)
        }
        probes.append(String(bare))
        probes.append("someone@" + bare)
        if bare.hasPrefix("[") && bare.hasSuffix("]") { probes.append(String(bare.dropFirst().dropLast())) }
    }
    for probe in probes {
        checkMatch(map.lookupClient(ip: probe, hostname: probe), lines.count)
        checkMatch(map.lookupClient(ip: "198.51.100.7", hostname: probe), lines.count)
        checkMatch(map.lookupSender(probe), lines.count)
        checkMatch(map.lookupRecipient(probe), lines.count)
    }
    return 0
}

@_cdecl("fuzz_access_main")
func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    runFuzzer(argc, argv, testOneInput)
}

func checkMatch(_ match: AccessMatch?, _ lineCount: Int) {
    guard let match else { return }
    check((1...lineCount).contains(match.line), "match on line \(match.line) of \(lineCount)")
    check(match.action != .skip, "SKIP returned as a decision")
    if case .error(let code, let enhanced, let text) = match.action {
        check((400...599).contains(code), "ERROR with reply code \(code)")
        let parts = enhanced.split(separator: ".", omittingEmptySubsequences: false)
        check(
            parts.count == 3 && parts[0] == "\(code / 100)"
                && parts.dropFirst().allSatisfy { (1...3).contains($0.count) && $0.allSatisfy(\.isASCII) },
            "enhanced code \(escaped(enhanced)) for \(code)")
        check(!text.isEmpty && isTextString(text), "reply text \(escaped(text))")
    }
    // What a log line shows reads back as the same action.
    let reread = try? AccessAction.parse(Substring(match.action.description))
    check(reread == match.action, "\(escaped(match.action.description)) reads back as \(String(describing: reread))")
}
