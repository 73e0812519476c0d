/// Encodes message content for DATA (RFC 5321 §4.5.2): every line that
/// starts with "." gets another "." in front, and the content ends with
/// CR LF "." CR LF — with a CR LF added first when the message does not end
/// with one, so that its last line is never taken for the terminator or
/// glued to it. Line endings are normalised on the way (see
/// `LineEndingNormalizer`), so the stuffing and the terminator are decided
/// on exactly the lines the server will see.
///
/// Works on blocks of any size, split anywhere.
public struct DotStuffer: Sendable {
    private var normalizer = LineEndingNormalizer()
    private var atLineStart = true

    public init() {}

    /// The wire bytes for the next block of content.
    public mutating func stuff(_ block: some Collection<UInt8>) -> [UInt8] {
        var normalized: [UInt8] = []
        normalized.reserveCapacity(block.count + 16)
        normalizer.normalize(block, into: &normalized)
        return stuffNormalized(normalized)
    }

    /// What follows the last block: the end of a last line without CR LF,
    /// and the terminating "." line.
    public mutating func finish() -> [UInt8] {
        var normalized: [UInt8] = []
        normalizer.finish(into: &normalized)
        var out = stuffNormalized(normalized)
        if !atLineStart { out += [0x0D, 0x0A] }
        atLineStart = true
        out += [UInt8(ascii: "."), 0x0D, 0x0A]
        return out
    }

    private mutating func stuffNormalized(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + 8)
        for byte in bytes {
            if atLineStart && byte == UInt8(ascii: ".") { out.append(byte) }
            out.append(byte)
            // Normalised: an LF is always the end of a CR LF.
            atLineStart = byte == 0x0A
        }
        return out
    }
}
