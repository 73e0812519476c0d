/// The aliases reader and the expander on any text: problems name real
/// lines, every name in the table expands without a crash within the
/// expander's bounds, and `:include:` files (here: the same text again)
/// cannot make it loop or grow without end.
import FuzzSupport
import PosternCore

@testable import PosternAliases

@_cdecl("LLVMFuzzerTestOneInput")
func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let text = String(decoding: fuzzBytes(data, size), as: UTF8.self)
    let (table, problems) = AliasesFile.parse(text: text, file: "aliases")
    let lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
    for problem in problems {
        check((1...max(lines.count, 1)).contains(problem.line), "problem on line \(problem.line) of \(lines.count)")
        check(!problem.description.contains("\n"), "line break in a problem: \(escaped(problem.description))")
    }
    for name in table.names.prefix(16) + ["postmaster", "mailer-daemon"] {
        let expansion = AliasExpander.expand(
            name, table: table,
            include: { _ -> Result<String, FuzzIncludeError> in .success(text) },
            isLocalUser: { $0.count < 6 }, isLocalDomain: { $0 == "example.test" })
        check(
            expansion.deliveries.count <= AliasExpander.maximumDestinations,
            "\(expansion.deliveries.count) destinations")
    }
    return 0
}

struct FuzzIncludeError: Error {}

@_cdecl("fuzz_aliases_main")
func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    runFuzzer(argc, argv, testOneInput)
}
