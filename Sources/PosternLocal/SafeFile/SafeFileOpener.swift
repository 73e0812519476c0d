#if canImport(Glibc)
    import Glibc
#endif

/// Finds and opens a delivery file inside the jail without following
/// anything a user could have planted.
///
/// Everything is resolved from the root descriptor one name at a time: each
/// directory with O_NOFOLLOW (a symbolic link anywhere on the way refuses,
/// rather than leading out of the jail), the file itself with O_NOFOLLOW and
/// O_NONBLOCK (a FIFO cannot hang the open). Directory ownership is not
/// judged: a shared archive directory may belong to a group; the kernel's
/// permission checks, made as the recipient, decide what may be created.
enum SafeFileOpener {
    private static let statNoFollow = AT_SYMLINK_NOFOLLOW

    /// An O_PATH descriptor of the directory that holds the file.
    static func openParent(of path: SafeFilePath, root: Int32) throws(SafeFileError) -> Int32 {
        var current = openat(root, ".", PosternOpenFlags.path | O_DIRECTORY | O_CLOEXEC)
        guard current >= 0 else { throw .io(operation: "open SafeFileEnvironment root", errno: errno) }
        var walked = ""
        for name in path.components.dropLast() {
            walked += "/" + name
            let next = openat(current, name, PosternOpenFlags.path | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            let e = errno
            if next < 0 {
                let kind = describeEntry(name, in: current)
                _ = close(current)
                switch e {
                case ENOTDIR, ELOOP: throw .refused(reason: "\(walked) is a \(kind), not a directory")
                case ENOENT: throw .refused(reason: "directory \(walked) does not exist")
                case EACCES: throw .refused(reason: "directory \(walked) may not be searched by this user")
                default: throw .io(operation: "open directory \(walked)", errno: e)
                }
            }
            _ = close(current)
            current = next
        }
        return current
    }

    /// Opens the file for appending, creating it (mode 0600) if it does not
    /// exist. Returns the descriptor, blocking again, and whether it was
    /// created.
    static func openFile(named name: String, in directory: Int32, shown: String) throws(SafeFileError) -> (
        fd: Int32, created: Bool
    ) {
        for _ in 0..<5 {
            var before = stat()
            if fstatat(directory, name, &before, statNoFollow) == 0 {
                // Judged before opening: opening a device can have effects.
                try checkShape(before, shown: shown)
                let fd = openat(directory, name, O_WRONLY | O_APPEND | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)
                guard fd >= 0 else {
                    let e = errno
                    if e == ENOENT { continue }  // removed since: look again
                    throw openFailure(e, shown: shown)
                }
                do throws(SafeFileError) {
                    try checkOpened(fd, shown: shown, sameAs: before)
                    try SafeFileError.mapping { () throws(MboxError) in
                        try MboxDelivery.clearNonBlocking(fd: fd, path: shown)
                    }
                } catch {
                    _ = close(fd)
                    throw error
                }
                return (fd, false)
            }
            let e = errno
            guard e == ENOENT else { throw openFailure(e, shown: shown) }
            let flags = O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC
            let fd = openat(directory, name, flags, 0o600)
            guard fd >= 0 else {
                let e = errno
                if e == EEXIST { continue }  // created meanwhile: judge theirs
                if e == EACCES || e == EPERM {
                    throw .refused(reason: "\(shown) does not exist and may not be created by this user")
                }
                throw .io(operation: "create \(shown)", errno: e)
            }
            do throws(SafeFileError) {
                try checkOpened(fd, shown: shown, sameAs: nil)
            } catch {
                _ = close(fd)
                throw error
            }
            return (fd, true)
        }
        throw .refused(reason: "\(shown) kept changing while it was being opened")
    }

    /// After the lock: is the locked file still the one the name refers to,
    /// and still acceptable? False means "open it again".
    static func isStillInPlace(_ fd: Int32, named name: String, in directory: Int32, shown: String)
        throws(SafeFileError) -> Bool
    {
        var named = stat()
        guard fstatat(directory, name, &named, statNoFollow) == 0 else {
            let e = errno
            if e == ENOENT { return false }
            throw .io(operation: "stat \(shown)", errno: e)
        }
        var locked = stat()
        guard fstat(fd, &locked) == 0 else { throw .io(operation: "fstat \(shown)", errno: errno) }
        guard MboxSystem.sameFile(named, locked) else { return false }
        try checkShape(locked, shown: shown)
        return true
    }

    private static func checkOpened(_ fd: Int32, shown: String, sameAs before: stat?) throws(SafeFileError) {
        var opened = stat()
        guard fstat(fd, &opened) == 0 else { throw .io(operation: "fstat \(shown)", errno: errno) }
        try checkShape(opened, shown: shown)
        if let before, !MboxSystem.sameFile(before, opened) {
            throw .refused(reason: "\(shown) was replaced while it was being opened")
        }
    }

    /// What a delivery file may be. One link, because a hard link is how a
    /// file elsewhere that the recipient can write (a script, a key file)
    /// gets appended to under an innocent name; no setuid/setgid or execute
    /// bit, because appending mail to a program is appending code to it.
    static func checkShape(_ st: stat, shown: String) throws(SafeFileError) {
        let type = st.st_mode & S_IFMT
        guard type != S_IFLNK else { throw .refused(reason: "\(shown) is a symbolic link") }
        guard type == S_IFREG else {
            throw .refused(reason: "\(shown) is a \(MboxSystem.fileType(st)), not a regular file")
        }
        guard st.st_nlink == 1 else { throw .refused(reason: "\(shown) has \(st.st_nlink) hard links") }
        guard st.st_mode & (S_ISUID | S_ISGID) == 0 else {
            throw .refused(reason: "\(shown) is setuid or setgid")
        }
        guard st.st_mode & 0o111 == 0 else { throw .refused(reason: "\(shown) is executable") }
    }

    private static func openFailure(_ e: Int32, shown: String) -> SafeFileError {
        switch e {
        case ELOOP: return .refused(reason: "\(shown) is a symbolic link")
        case ENXIO, EISDIR, ETXTBSY: return .refused(reason: "\(shown) is not a regular file")
        case EACCES, EPERM: return .refused(reason: "\(shown) may not be written by this user")
        default: return .io(operation: "open \(shown)", errno: e)
        }
    }

    /// "symbolic link", "regular file"... for a refusal message.
    private static func describeEntry(_ name: String, in directory: Int32) -> String {
        var st = stat()
        guard fstatat(directory, name, &st, statNoFollow) == 0 else { return "file that cannot be examined" }
        return MboxSystem.fileType(st)
    }
}
