import Glibc
import PosternCore

/// The drop directory as submit sees it: its root (it is chrooted there).
/// Anyone may create files in it (mode 1733) but nobody else may list it,
/// so a file is trusted only as far as the kernel vouches for it: the
/// owner the kernel recorded is the submitter, and a file that could have
/// been made by someone else in that user's name is refused.
struct DropDirectory {
    /// Where the files are: "/" in the chroot; a test may use another.
    let path: String

    /// One file found by a scan.
    struct Entry: Equatable {
        var name: String
        var uid: UInt32
        var size: Int64
        var modified: Int64
        /// A regular file (not a link, a FIFO, a directory...).
        var regular: Bool
        /// Mode 0644: the command finished writing it.
        var ready: Bool
    }

    /// Why a file is not taken. Every one of these is logged, and the
    /// file removed: it is not (or no longer) a submission.
    enum Refusal: Error, Equatable, CustomStringConvertible {
        case missing
        case symbolicLink
        case notRegular
        case hardLinked(count: Int)
        case ownerMismatch(owner: UInt32, named: UInt32)
        case notReady
        case tooBig(Int64)
        case unreadable(errno: Int32)

        var description: String {
            switch self {
            case .missing: return "no such file"
            case .symbolicLink: return "a symbolic link"
            case .notRegular: return "not a regular file"
            case .hardLinked(let n): return "has \(n) hard links"
            case .ownerMismatch(let owner, let named): return "owned by uid \(owner), named for uid \(named)"
            case .notReady: return "still being written"
            case .tooBig(let size): return "too big (\(size) bytes)"
            case .unreadable(let e): return "cannot be read: \(String(cString: strerror(e)))"
            }
        }
    }

    private func full(_ name: String) -> String { path == "/" ? "/" + name : path + "/" + name }

    /// Opens a drop file and checks what the kernel says about it: a
    /// regular file, one link, owned by `uid`, complete, not over `limit`
    /// bytes. Never follows a link, never blocks on a FIFO.
    func open(_ name: String, uid: UInt32, limit: Int64) -> Result<(fd: Int32, size: Int64), Refusal> {
        let fd = Glibc.open(full(name), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY)
        guard fd >= 0 else {
            switch errno {
            case ENOENT: return .failure(.missing)
            case ELOOP: return .failure(.symbolicLink)
            default: return .failure(.unreadable(errno: errno))
            }
        }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let e = errno
            close(fd)
            return .failure(.unreadable(errno: e))
        }
        let refusal: Refusal?
        if info.st_mode & S_IFMT != S_IFREG {
            refusal = .notRegular
        } else if info.st_nlink != 1 {
            refusal = .hardLinked(count: Int(info.st_nlink))
        } else if info.st_uid != uid {
            refusal = .ownerMismatch(owner: info.st_uid, named: uid)
        } else if info.st_mode & 0o7777 != 0o644 {
            refusal = .notReady
        } else if Int64(info.st_size) > limit {
            refusal = .tooBig(Int64(info.st_size))
        } else {
            refusal = nil
        }
        if let refusal {
            close(fd)
            return .failure(refusal)
        }
        return .success((fd, Int64(info.st_size)))
    }

    /// All of a file's bytes, up to `size` (what fstat said; a file that
    /// grows meanwhile is cut there, as the submitter's own doing).
    static func readAll(_ fd: Int32, size: Int64) -> Result<[UInt8], Refusal> {
        var bytes = [UInt8](repeating: 0, count: Int(size))
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeMutableBytes { raw -> Int in
                guard let base = raw.baseAddress else { return 0 }
                return read(fd, base + done, raw.count - done)
            }
            if n < 0 && errno == EINTR { continue }
            if n < 0 { return .failure(.unreadable(errno: errno)) }
            if n == 0 { break }
            done += n
        }
        return .success(Array(bytes.prefix(done)))
    }

    /// Every file in the directory with what lstat says (never following
    /// a link); names that are not ours are listed with uid 0 and not
    /// ready, for the caller to judge.
    func scan() -> [Entry] {
        var entries: [Entry] = []
        for name in DirectoryListing.names(path) {
            var info = stat()
            guard lstat(full(name), &info) == 0 else { continue }
            entries.append(
                Entry(
                    name: name, uid: info.st_uid, size: Int64(info.st_size), modified: Int64(info.st_mtim.tv_sec),
                    regular: info.st_mode & S_IFMT == S_IFREG, ready: info.st_mode & 0o7777 == 0o644))
        }
        return entries.sorted { ($0.modified, $0.name) < ($1.modified, $1.name) }
    }

    /// Submit owns the directory: the sticky bit lets it remove anyone's file.
    func remove(_ name: String) {
        if unlink(full(name)) != 0 && errno == EISDIR { rmdir(full(name)) }
    }
}
