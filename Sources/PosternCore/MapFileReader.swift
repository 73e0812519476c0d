import Glibc

/// Reads a map or list file (aliases, access, an `:include:` file...): the
/// one place that opens them, for the lookup, local delivery and the
/// command line alike. Never through a symlink, never a FIFO or device (a
/// FIFO would block the reader), bounded in size. Text that is not UTF-8
/// is decoded with U+FFFD for the bad bytes (`lossy`): a stray Latin-1
/// byte costs its line, not the whole map.
public enum MapFileReader {
    public struct Contents {
        public var text: String
        /// Some bytes were not UTF-8 and were replaced.
        public var lossy: Bool
        /// The file's status, for owner checks.
        public var status: stat
    }

    public struct Failure: Error, CustomStringConvertible {
        /// The errno of a failed open (ENOENT: no such map), or 0.
        public var errno: Int32
        public var description: String

        public init(errno: Int32, description: String) {
            self.errno = errno
            self.description = description
        }
    }

    /// - Parameter refuseWritableByOthers: also refuse a file group or
    ///   others may write (what Sendmail requires of a file whose programs
    ///   and files it runs).
    public static func read(_ path: String, limit: Int, refuseWritableByOthers: Bool = false) -> Result<
        Contents, Failure
    > {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)
        guard fd >= 0 else {
            let e = errno
            return .failure(Failure(errno: e, description: "\(path): \(String(cString: strerror(e)))"))
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG else {
            return .failure(Failure(errno: 0, description: "\(path) is not a regular file"))
        }
        if refuseWritableByOthers && st.st_mode & 0o022 != 0 {
            return .failure(Failure(errno: 0, description: "\(path) is writable by group or others: unsafe"))
        }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while bytes.count <= limit {
            let n = Glibc.read(fd, &chunk, chunk.count)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            bytes.append(contentsOf: chunk[0..<n])
        }
        guard bytes.count <= limit else {
            return .failure(Failure(errno: 0, description: "\(path) is larger than \(limit) bytes"))
        }
        if let text = String(validating: bytes, as: UTF8.self) {
            return .success(Contents(text: text, lossy: false, status: st))
        }
        return .success(Contents(text: String(decoding: bytes, as: UTF8.self), lossy: true, status: st))
    }
}
