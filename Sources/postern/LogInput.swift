import CZlib
import Glibc
import LogReview

/// Why `postern log` could not read an input.
enum LogInputError: Error, CustomStringConvertible {
    case open(path: String, errno: Int32)
    case read(path: String, errno: Int32)
    case gzip(path: String, message: String)

    var description: String {
        switch self {
        case .open(let path, let e): return "cannot open \(path): \(String(cString: strerror(e)))"
        case .read(let path, let e): return "cannot read \(path): \(String(cString: strerror(e)))"
        case .gzip(let path, let message): return "\(path): not a readable gzip file: \(message)"
        }
    }
}

/// One input of `postern log`: a file (plain or gzip, told by its magic
/// bytes, not its name) or standard input (`-`), read in 1 MiB chunks and
/// cut into lines, so memory stays bounded whatever its size. A `.gz` is
/// inflated in-process by zlib, streaming, member after member (as `gzip
/// -dc` does): no child process, no dependence on PATH, and an error is
/// ours to report.
struct LogInput {
    let path: String
    let fd: Int32
    /// The file's mtime as local time: the reference of the year rule.
    let modified: LogTime

    static let chunkSize = 1 << 20

    static func open(_ path: String) throws -> LogInput {
        if path == "-" { return LogInput(path: "standard input", fd: 0, modified: localTime(time(nil))) }
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw LogInputError.open(path: path, errno: errno) }
        var info = stat()
        let mtime = fstat(fd, &info) == 0 ? info.st_mtim.tv_sec : time(nil)
        return LogInput(path: path, fd: fd, modified: localTime(mtime))
    }

    func close() {
        if fd != 0 { _ = Glibc.close(fd) }
    }

    /// Calls `body` with every line, then the last one without a newline.
    func lines(_ body: (UnsafeBufferPointer<UInt8>) -> Void) throws {
        var splitter = LineSplitter()
        let buffer = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: Self.chunkSize)
        defer { buffer.deallocate() }
        var inflater: Inflater?
        var first = true
        while true {
            let n = read(fd, buffer.baseAddress, buffer.count)
            if n < 0 {
                if errno == EINTR { continue }
                throw LogInputError.read(path: path, errno: errno)
            }
            if n == 0 { break }
            let chunk = UnsafeBufferPointer(rebasing: buffer[0..<n])
            if first {
                first = false
                if n >= 2 && chunk[0] == 0x1F && chunk[1] == 0x8B { inflater = try Inflater(path: path) }
            }
            if inflater != nil {
                try inflater?.inflate(chunk) { splitter.feed($0, body) }
            } else {
                splitter.feed(chunk, body)
            }
        }
        try inflater?.finish()
        splitter.finish(body)
    }

    static func localTime(_ t: time_t) -> LogTime {
        var seconds = t
        var parts = tm()
        localtime_r(&seconds, &parts)
        return LogTime(
            year: Int(parts.tm_year) + 1900, month: Int(parts.tm_mon) + 1, day: Int(parts.tm_mday),
            hour: Int(parts.tm_hour), minute: Int(parts.tm_min), second: Int(parts.tm_sec))
    }
}

/// zlib's inflate for gzip (windowBits 15 + 16), reset at the end of each
/// member so that concatenated members (`cat a.gz b.gz`) read as one.
final class Inflater {
    private var stream = z_stream()
    private let path: String
    private let output = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: 1 << 18)
    private var inMember = false

    init(path: String) throws {
        self.path = path
        let status = inflateInit2_(&stream, 15 + 16, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        guard status == Z_OK else { throw LogInputError.gzip(path: path, message: "inflateInit2 \(status)") }
    }

    deinit {
        inflateEnd(&stream)
        output.deallocate()
    }

    func inflate(_ input: UnsafeBufferPointer<UInt8>, _ body: (UnsafeBufferPointer<UInt8>) -> Void) throws {
        guard let base = input.baseAddress else { return }
        stream.next_in = UnsafeMutablePointer(mutating: base)
        stream.avail_in = UInt32(input.count)
        while stream.avail_in > 0 {
            inMember = true
            stream.next_out = output.baseAddress
            stream.avail_out = UInt32(output.count)
            let status = CZlib.inflate(&stream, Z_NO_FLUSH)
            let produced = output.count - Int(stream.avail_out)
            if produced > 0 { body(UnsafeBufferPointer(rebasing: output[0..<produced])) }
            switch status {
            case Z_OK, Z_BUF_ERROR:
                if status == Z_BUF_ERROR && produced == 0 { return }
            case Z_STREAM_END:
                inMember = false
                inflateReset(&stream)
            default:
                let message = stream.msg.map { String(cString: $0) } ?? "error \(status)"
                throw LogInputError.gzip(path: path, message: message)
            }
        }
    }

    /// A member cut short is an error, as for gzip.
    func finish() throws {
        if inMember { throw LogInputError.gzip(path: path, message: "unexpected end of file") }
    }
}
