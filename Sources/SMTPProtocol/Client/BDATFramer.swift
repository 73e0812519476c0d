/// Encodes message content as RFC 3030 BDAT chunks: no dot-stuffing, each
/// chunk preceded by `BDAT <octets>`, the last by `BDAT <octets> LAST`.
/// Line endings are normalised as for DATA (see `LineEndingNormalizer`),
/// and a message that does not end with CR LF gets one, so both transfer
/// modes put exactly the same octets into the remote spool.
///
/// One block is held back until the next arrives (or `finish()`), so the
/// last real chunk can carry LAST instead of an extra `BDAT 0 LAST`; memory
/// is one block.
public struct BDATFramer: Sendable {
    private var normalizer = LineEndingNormalizer()
    private var held: [UInt8] = []
    private var lastByte: UInt8?

    public init() {}

    /// The BDAT command and chunk for the block before this one, or nil when
    /// nothing is ready to go (the first block, or an empty one).
    public mutating func add(_ block: some Collection<UInt8>) -> [UInt8]? {
        var normalized: [UInt8] = []
        normalized.reserveCapacity(block.count + 16)
        normalizer.normalize(block, into: &normalized)
        guard let last = normalized.last else { return nil }
        lastByte = last
        if held.isEmpty {
            held = normalized
            return nil
        }
        let chunk = Self.frame(held, last: false)
        held = normalized
        return chunk
    }

    /// The final chunk, with LAST; `BDAT 0 LAST` for an empty message.
    public mutating func finish() -> [UInt8] {
        normalizer.finish(into: &held)
        if let last = held.last { lastByte = last }
        if let lastByte, lastByte != 0x0A { held += [0x0D, 0x0A] }
        let chunk = Self.frame(held, last: true)
        held = []
        lastByte = nil
        return chunk
    }

    private static func frame(_ chunk: [UInt8], last: Bool) -> [UInt8] {
        Array("BDAT \(chunk.count)\(last ? " LAST" : "")\r\n".utf8) + chunk
    }
}
