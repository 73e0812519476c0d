import CLibFuzzer

#if canImport(Glibc)
    import Glibc
#endif

/// What libFuzzer calls once per input; a harness returns 0.
public typealias FuzzCallback = @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32

/// Runs libFuzzer with the process's arguments. Each harness calls this from
/// its `<target>_main`, the symbol SwiftPM links in as `main` for an
/// executable target.
public func runFuzzer(
    _ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?, _ callback: FuzzCallback
) -> Int32 {
    var count = argc
    var vector = argv
    return LLVMFuzzerRunDriver(&count, &vector, callback)
}

/// The input as an array (libFuzzer may pass a null pointer for size 0).
public func fuzzBytes(_ data: UnsafePointer<UInt8>?, _ size: Int) -> [UInt8] {
    guard let data, size > 0 else { return [] }
    return Array(UnsafeBufferPointer(start: data, count: size))
}

/// A broken invariant: reported and trapped, so that libFuzzer saves the
/// input as a crash.
public func check(
    _ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String,
    file: StaticString = #fileID, line: UInt = #line
) {
    guard !condition() else { return }
    fatalError("invariant failed: \(message())", file: file, line: line)
}

/// Choices a harness draws from the input (verdicts, chunk sizes), cycling
/// over the bytes it was given; all zero when there are none.
public struct FuzzChoices {
    private let bytes: [UInt8]
    private var index = 0

    public init(_ bytes: some Collection<UInt8>) { self.bytes = Array(bytes) }

    public mutating func next() -> UInt8 {
        guard !bytes.isEmpty else { return 0 }
        defer { index += 1 }
        return bytes[index % bytes.count]
    }
}

/// Bytes as text for a failure message: printable ASCII, the rest escaped.
public func escaped(_ bytes: some Collection<UInt8>, limit: Int = 400) -> String {
    var out = ""
    for byte in bytes.prefix(limit) {
        if byte >= 0x20 && byte < 0x7F && byte != 0x5C {
            out.unicodeScalars.append(Unicode.Scalar(byte))
        } else {
            let hex = Array("0123456789abcdef".unicodeScalars)
            out += "\\x"
            out.unicodeScalars.append(hex[Int(byte >> 4)])
            out.unicodeScalars.append(hex[Int(byte & 15)])
        }
    }
    return bytes.count > limit ? out + "..." : out
}

public func escaped(_ text: String, limit: Int = 400) -> String { escaped(Array(text.utf8), limit: limit) }

/// The first index at which `pattern` occurs in `bytes`.
public func firstRange(of pattern: [UInt8], in bytes: some Collection<UInt8>) -> Int? {
    let haystack = Array(bytes)
    guard !pattern.isEmpty, haystack.count >= pattern.count else { return nil }
    outer: for start in 0...(haystack.count - pattern.count) {
        for offset in 0..<pattern.count where haystack[start + offset] != pattern[offset] { continue outer }
        return start
    }
    return nil
}

/// True when every byte is HT or printable ASCII (RFC 5321 textstring).
public func isTextString(_ text: String) -> Bool {
    text.utf8.allSatisfy { $0 == 0x09 || ($0 >= 0x20 && $0 < 0x7F) }
}

/// True when no byte is CR, LF or NUL: what every envelope field and log
/// line must hold.
public func hasNoLineBreakOrNUL(_ text: String) -> Bool {
    !text.utf8.contains { $0 == 0x0D || $0 == 0x0A || $0 == 0 }
}

/// FUZZ_VERBOSE=1 in the environment makes a harness describe each input it
/// runs (useful with a reproducer: `fuzz_x -runs=1 crash-file`).
public let verbose = getenv("FUZZ_VERBOSE") != nil

public func trace(_ text: @autoclosure () -> String) {
    if verbose { print(text()) }
}
