#if canImport(Glibc)
    import Glibc
#endif

/// Small wrappers over the system calls the mbox writer needs, so that the
/// delivery logic reads as steps and every EINTR and short transfer is
/// handled in one place.
enum MboxSystem {
    /// A system call's value or its errno. Not `Result`, because an errno is
    /// not an `Error`, and matching `.failure(ENOENT)` reads like the man page.
    enum SysResult<Value> {
        case success(Value)
        case failure(Int32)
    }

    /// A point on the monotonic clock after which lock waits give up. The
    /// monotonic clock, because a wall-clock step must not stretch or cut a
    /// lock wait.
    struct Deadline {
        let nanoseconds: UInt64

        init(after duration: Duration) {
            self.nanoseconds = MboxSystem.monotonicNanoseconds() &+ MboxSystem.nanoseconds(duration)
        }

        var hasPassed: Bool { MboxSystem.monotonicNanoseconds() >= nanoseconds }

        var remainingNanoseconds: UInt64 {
            let now = MboxSystem.monotonicNanoseconds()
            return now >= nanoseconds ? 0 : nanoseconds - now
        }
    }

    static func monotonicNanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(max(0, ts.tv_sec)) &* 1_000_000_000 &+ UInt64(max(0, ts.tv_nsec))
    }

    static func nanoseconds(_ duration: Duration) -> UInt64 {
        let (seconds, attoseconds) = duration.components
        if seconds < 0 { return 0 }
        let whole = UInt64(seconds).multipliedReportingOverflow(by: 1_000_000_000)
        if whole.overflow { return UInt64.max / 2 }
        return whole.partialValue &+ UInt64(max(0, attoseconds) / 1_000_000_000)
    }

    /// Sleeps for `interval`, but never past `deadline`.
    static func sleep(_ interval: Duration, until deadline: Deadline) {
        let nanos = min(nanoseconds(interval), deadline.remainingNanoseconds)
        if nanos == 0 { return }
        var request = timespec(tv_sec: Int(nanos / 1_000_000_000), tv_nsec: Int(nanos % 1_000_000_000))
        var remaining = timespec()
        while nanosleep(&request, &remaining) == -1 && errno == EINTR {
            request = remaining
        }
    }

    /// `lstat`, returning the errno on failure.
    static func lstat(_ path: String) -> SysResult<stat> {
        var st = stat()
        while true {
            if Glibc.lstat(path, &st) == 0 { return .success(st) }
            let e = errno
            if e != EINTR { return .failure(e) }
        }
    }

    static func fstat(_ fd: Int32) -> SysResult<stat> {
        var st = stat()
        if Glibc.fstat(fd, &st) == 0 { return .success(st) }
        return .failure(errno)
    }

    static func open(_ path: String, _ flags: Int32, _ mode: mode_t = 0) -> SysResult<Int32> {
        while true {
            let fd = Glibc.open(path, flags, mode)
            if fd >= 0 { return .success(fd) }
            let e = errno
            if e != EINTR { return .failure(e) }
        }
    }

    /// Reads up to `count` bytes at `offset` into `buffer`, retrying EINTR.
    /// `pread` because the spool descriptor may be shared with other workers:
    /// its file offset belongs to nobody.
    static func pread(_ fd: Int32, into buffer: inout [UInt8], count: Int, at offset: off_t) -> SysResult<Int> {
        let wanted = min(count, buffer.count)
        while true {
            let n = buffer.withUnsafeMutableBytes { raw -> Int in
                guard let base = raw.baseAddress else { return 0 }
                return Glibc.pread(fd, base, wanted, offset)
            }
            if n >= 0 { return .success(n) }
            let e = errno
            if e != EINTR { return .failure(e) }
        }
    }

    /// Writes all of `bytes`, looping over short writes. Returns the errno of
    /// the write that failed; a write of zero bytes counts as EIO rather than
    /// looping forever.
    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Int32? {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { raw -> Int in
                guard let base = raw.baseAddress else { return 0 }
                return Glibc.write(fd, base + done, raw.count - done)
            }
            if n > 0 {
                done += n
            } else if n == 0 {
                return EIO
            } else {
                let e = errno
                if e != EINTR { return e }
            }
        }
        return nil
    }

    static func fsync(_ fd: Int32) -> Int32? {
        while Glibc.fsync(fd) != 0 {
            let e = errno
            if e != EINTR { return e }
        }
        return nil
    }

    static func close(_ fd: Int32) {
        // Not retried on EINTR: on Linux the descriptor is gone either way,
        // and a retry could close a descriptor another thread just opened.
        _ = Glibc.close(fd)
    }

    static func fileType(_ st: stat) -> String {
        switch st.st_mode & S_IFMT {
        case S_IFREG: return "regular file"
        case S_IFLNK: return "symbolic link"
        case S_IFDIR: return "directory"
        case S_IFIFO: return "FIFO"
        case S_IFCHR: return "character device"
        case S_IFBLK: return "block device"
        case S_IFSOCK: return "socket"
        default: return "file of unknown type"
        }
    }

    static func sameFile(_ a: stat, _ b: stat) -> Bool {
        a.st_dev == b.st_dev && a.st_ino == b.st_ino
    }

    /// The directory part of an absolute path ("/" for "/x").
    static func directory(of path: String) -> String {
        let bytes = Array(path.utf8)
        guard let slash = bytes.lastIndex(of: UInt8(ascii: "/")) else { return "." }
        if slash == 0 { return "/" }
        return String(decoding: bytes[..<slash], as: UTF8.self)
    }
}
