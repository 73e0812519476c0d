/// What a program wrote to stderr, made fit for a DSN and a log line.
enum ProgramDiagnostics {
    /// How much stderr is kept; the rest is read and dropped.
    static let capturedBytes = 512

    /// One line of printable ASCII: control bytes become spaces (so a
    /// program cannot forge further log lines or reply lines), non-ASCII
    /// bytes `?`, runs of blanks one space. Nil when nothing is left.
    static func oneLine(_ bytes: [UInt8]) -> String? {
        var out: [UInt8] = []
        out.reserveCapacity(min(bytes.count, capturedBytes))
        for byte in bytes.prefix(capturedBytes) {
            let clean: UInt8
            switch byte {
            case 0x21..<0x7F: clean = byte
            case 0x80...: clean = UInt8(ascii: "?")
            default: clean = UInt8(ascii: " ")
            }
            if clean == UInt8(ascii: " ") && (out.isEmpty || out.last == UInt8(ascii: " ")) { continue }
            out.append(clean)
        }
        while out.last == UInt8(ascii: " ") { out.removeLast() }
        return out.isEmpty ? nil : String(decoding: out, as: UTF8.self)
    }
}
