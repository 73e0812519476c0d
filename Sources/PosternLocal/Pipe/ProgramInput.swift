#if canImport(Glibc)
    import Glibc
#endif

/// The bytes a delivery program reads on stdin: the extra header lines,
/// then the spooled message with LF line ends, produced a chunk at a time
/// so that memory stays bounded whatever the message size.
struct ProgramInput {
    private let messageFD: Int32
    private let chunkSize: Int
    private var converter = LineEndConverter()
    private var buffer: [UInt8]
    private var sent = 0
    private var offset: off_t = 0
    private var messageEnded = false
    private var readBuffer: [UInt8]

    /// - Parameters:
    ///   - headers: the header block, already LF-terminated.
    ///   - messageFD: read with pread from offset 0; its offset is untouched.
    init(headers: [UInt8], messageFD: Int32, chunkSize: Int = 64 * 1024) {
        self.messageFD = messageFD
        self.chunkSize = max(1, chunkSize)
        self.buffer = headers
        self.readBuffer = [UInt8](repeating: 0, count: max(1, chunkSize))
    }

    /// True when everything has been handed out and consumed.
    var isFinished: Bool { messageEnded && sent == buffer.count }

    /// The bytes to write next, reading more of the message when the current
    /// ones are used up; empty only when the input is finished. Fails with
    /// the errno of a failed read.
    mutating func pending() -> MboxSystem.SysResult<ArraySlice<UInt8>> {
        while sent == buffer.count && !messageEnded {
            buffer.removeAll(keepingCapacity: true)
            sent = 0
            switch MboxSystem.pread(messageFD, into: &readBuffer, count: chunkSize, at: offset) {
            case .failure(let e):
                return .failure(e)
            case .success(0):
                converter.finish(into: &buffer)
                messageEnded = true
            case .success(let count):
                offset += off_t(count)
                converter.convert(readBuffer[0..<count], into: &buffer)
            }
        }
        return .success(buffer[sent...])
    }

    /// `count` bytes of what `pending()` returned were written.
    mutating func consume(_ count: Int) {
        sent = min(buffer.count, sent + count)
    }
}
