import Glibc

/// Cuts a byte stream into physical lines at LF, whatever the chunks are,
/// holding at most one partial line (cut at `maxLine` bytes: the daemon
/// writes at most 8192). A final line without LF is still a line.
public struct LineSplitter: Sendable {
    public let maxLine: Int
    private var pending: [UInt8] = []
    private var overlong = false

    public init(maxLine: Int = 65_536) { self.maxLine = maxLine }

    /// Calls `body` with each complete line in `chunk`, CR before LF kept off.
    public mutating func feed(_ chunk: UnsafeBufferPointer<UInt8>, _ body: (UnsafeBufferPointer<UInt8>) -> Void) {
        var start = 0
        let count = chunk.count
        while start < count {
            guard let base = chunk.baseAddress,
                let hit = memchrLF(base + start, count - start)
            else {
                keep(UnsafeBufferPointer(rebasing: chunk[start...]))
                return
            }
            let end = start + hit
            if pending.isEmpty && !overlong {
                emit(UnsafeBufferPointer(rebasing: chunk[start..<end]), body)
            } else {
                keep(UnsafeBufferPointer(rebasing: chunk[start..<end]))
                let line = pending
                pending.removeAll(keepingCapacity: true)
                overlong = false
                line.withUnsafeBufferPointer { emit($0, body) }
            }
            start = end + 1
        }
    }

    /// The last line, if the stream did not end with LF.
    public mutating func finish(_ body: (UnsafeBufferPointer<UInt8>) -> Void) {
        guard !pending.isEmpty else { return }
        let line = pending
        pending = []
        overlong = false
        line.withUnsafeBufferPointer { emit($0, body) }
    }

    private mutating func keep(_ bytes: UnsafeBufferPointer<UInt8>) {
        let room = maxLine - pending.count
        if bytes.count > room { overlong = true }
        pending.append(contentsOf: bytes.prefix(max(room, 0)))
        if overlong && pending.isEmpty { pending.append(0x20) }
    }

    private func emit(_ line: UnsafeBufferPointer<UInt8>, _ body: (UnsafeBufferPointer<UInt8>) -> Void) {
        if let last = line.last, last == 0x0D {
            body(UnsafeBufferPointer(rebasing: line.dropLast()))
        } else {
            body(line)
        }
    }
}

/// The offset of the next LF, by the C library's vectorised search.
@inline(__always)
private func memchrLF(_ p: UnsafePointer<UInt8>, _ n: Int) -> Int? {
    guard let hit = memchr(p, 0x0A, n) else { return nil }
    return UnsafeRawPointer(hit) - UnsafeRawPointer(p)
}
