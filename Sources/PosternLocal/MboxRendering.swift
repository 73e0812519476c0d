#if canImport(Glibc)
    import Glibc
#endif

/// The exact bytes one delivery appends to an mbox — the preamble, then the
/// message mboxrd-encoded — produced in chunks, so that the same output can
/// be summarised before it is written (for the delivery journal), written,
/// or compared with what a mailbox already holds (to tell whether an earlier
/// attempt wrote it), always with memory bounded by the chunk size.
struct MboxRendering {
    let preamble: [UInt8]
    let messageFD: Int32
    let chunkSize: Int

    /// Calls `sink` with successive pieces of the output, in order.
    func render(_ sink: ([UInt8]) throws(MboxError) -> Void) throws(MboxError) {
        var encoder = MboxrdEncoder()
        var out = preamble
        out.reserveCapacity(preamble.count + 2 * chunkSize + 16)
        var input = [UInt8](repeating: 0, count: chunkSize)
        var offset: off_t = 0
        while true {
            let count: Int
            switch MboxSystem.pread(messageFD, into: &input, count: chunkSize, at: offset) {
            case .success(let n): count = n
            case .failure(let e): throw .io(operation: "read message", errno: e)
            }
            if count == 0 { break }
            offset += off_t(count)
            input.withUnsafeBufferPointer { all in
                encoder.encode(UnsafeBufferPointer(rebasing: all[0..<count]), into: &out)
            }
            if out.count >= chunkSize {
                try sink(out)
                out.removeAll(keepingCapacity: true)
            }
        }
        encoder.finish(into: &out)
        if !out.isEmpty { try sink(out) }
    }

    /// The whole output in memory when it is at most `limit` bytes (the
    /// common case: one pass, one write), else nil.
    func bytes(upTo limit: Int) throws(MboxError) -> [UInt8]? {
        var all: [UInt8] = []
        var tooLarge = false
        do throws(MboxError) {
            try render { (piece) throws(MboxError) in
                guard all.count + piece.count <= limit else {
                    tooLarge = true
                    throw .invalidArgument(reason: "larger than \(limit)")
                }
                all.append(contentsOf: piece)
            }
        } catch {
            if tooLarge { return nil }
            throw error
        }
        return all
    }

    /// The summary the journal records, by a pass that writes nothing.
    func digest() throws(MboxError) -> MboxDigest {
        var digest = MboxDigest()
        try render { piece in digest.add(piece) }
        return digest
    }

    /// Whether `fd` holds exactly this output at `offset`.
    func matches(fd: Int32, at offset: off_t) throws(MboxError) -> Bool {
        var position = offset
        var stored = [UInt8](repeating: 0, count: chunkSize)
        var same = true
        do throws(MboxError) {
            try render { (piece) throws(MboxError) in
                var done = 0
                while done < piece.count {
                    let wanted = min(stored.count, piece.count - done)
                    let n: Int
                    switch MboxSystem.pread(fd, into: &stored, count: wanted, at: position) {
                    case .success(let read): n = read
                    case .failure(let e): throw .io(operation: "read mailbox", errno: e)
                    }
                    guard n > 0, stored[0..<n].elementsEqual(piece[done..<done + n]) else {
                        same = false
                        throw .invalidArgument(reason: "differs")
                    }
                    done += n
                    position += off_t(n)
                }
            }
        } catch {
            if !same { return false }
            throw error
        }
        return true
    }
}

/// What the journal keeps of one delivery's output: its length, its first
/// bytes verbatim and a hash of its first 4 KiB — enough to recognise the
/// start of that output in a mailbox (a copy an interrupted writer left
/// half-written) without keeping the message.
struct MboxDigest: Equatable {
    static let headLength = 64
    static let hashedLength = 4096

    var length = 0
    var head: [UInt8] = []
    /// FNV-1a over the first `hashedLength` bytes (fewer if shorter).
    var hash: UInt64 = MboxDigest.fnvOffset

    static let fnvOffset: UInt64 = 0xcbf2_9ce4_8422_2325
    static let fnvPrime: UInt64 = 0x0000_0100_0000_01b3

    init() {}

    init(of bytes: [UInt8]) {
        add(bytes)
    }

    init(length: Int, head: [UInt8], hash: UInt64) {
        self.length = length
        self.head = head
        self.hash = hash
    }

    mutating func add(_ piece: [UInt8]) {
        if head.count < Self.headLength {
            head.append(contentsOf: piece.prefix(Self.headLength - head.count))
        }
        if length < Self.hashedLength {
            for byte in piece.prefix(Self.hashedLength - length) {
                hash = (hash ^ UInt64(byte)) &* Self.fnvPrime
            }
        }
        length += piece.count
    }

    /// Whether `prefix`, the first bytes of some output, can be the first
    /// bytes of this one: equal head bytes as far as both go, and the same
    /// hash when the prefix covers all that is hashed.
    func couldStart(with prefix: [UInt8]) -> Bool {
        guard prefix.count < length || prefix.count == length else { return false }
        let compared = min(prefix.count, head.count)
        guard prefix[0..<compared].elementsEqual(head[0..<compared]) else { return false }
        let hashed = min(length, Self.hashedLength)
        guard prefix.count >= hashed else { return true }
        return MboxDigest(of: Array(prefix.prefix(hashed))).hash == hash
    }
}
