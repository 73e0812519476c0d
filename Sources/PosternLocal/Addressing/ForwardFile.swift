import Glibc

/// Reads a user's `~/.forward`, as that user (the worker has dropped to
/// the user before it calls this). A file anyone else could have written
/// would let them run programs as the user, so it is used only when the
/// home directory and the file belong to the user (or root) and neither is
/// writable by group or others; otherwise it is ignored, the refusal is
/// logged, and the mail goes to the mailbox, as Sendmail does.
enum ForwardFile {
    enum Contents: Equatable {
        case absent
        case unsafe(String)
        case text(String)
    }

    static func read(home: String, uid: uid_t) -> Contents {
        let dir = open(home, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard dir >= 0 else { return .absent }  // no home: nothing to read
        defer { close(dir) }
        var st = stat()
        guard fstat(dir, &st) == 0 else { return .unsafe("cannot stat the home directory \(home)") }
        if let problem = ownershipProblem(st, uid: uid) { return .unsafe("home directory \(home) \(problem)") }
        let fd = openat(dir, ".forward", O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)
        guard fd >= 0 else {
            switch errno {
            case ENOENT: return .absent
            case ELOOP: return .unsafe("\(home)/.forward is a symbolic link")
            default: return .unsafe("\(home)/.forward cannot be opened: \(String(cString: strerror(errno)))")
            }
        }
        defer { close(fd) }
        guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG else {
            return .unsafe("\(home)/.forward is not a regular file")
        }
        if let problem = ownershipProblem(st, uid: uid) { return .unsafe("\(home)/.forward \(problem)") }
        guard st.st_size <= ForwardMembers.maxFileSize else {
            return .unsafe("\(home)/.forward is larger than \(ForwardMembers.maxFileSize) bytes")
        }
        var bytes = [UInt8](repeating: 0, count: ForwardMembers.maxFileSize + 1)
        var total = 0
        while total < bytes.count {
            let n = bytes.withUnsafeMutableBytes {
                pread(fd, $0.baseAddress.map { $0 + total }, $0.count - total, off_t(total))
            }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            total += n
        }
        guard total <= ForwardMembers.maxFileSize else { return .unsafe("\(home)/.forward grew while being read") }
        return .text(String(decoding: bytes.prefix(total), as: UTF8.self))
    }

    /// Owned by the user or root, writable by neither group nor others.
    private static func ownershipProblem(_ st: stat, uid: uid_t) -> String? {
        if st.st_uid != uid && st.st_uid != 0 { return "is owned by uid \(st.st_uid), not the user" }
        if st.st_mode & 0o022 != 0 { return "is writable by group or others" }
        return nil
    }
}
