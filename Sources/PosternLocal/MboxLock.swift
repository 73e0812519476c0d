#if canImport(Glibc)
    import Glibc
#endif

/// The `<mailbox>.lock` file that mail readers (mutt, alpine, mailx, Dovecot's
/// mbox driver) check before they rewrite a mailbox.
///
/// Both locks are taken because the readers disagree on which one they
/// honour: some only dotlock, some only fcntl. The dotlock is taken *before*
/// the mailbox is opened, since a reader that rewrites the mailbox by rename
/// while holding it would otherwise leave us appending to the unlinked old
/// file.
struct MboxDotLock {
    let path: String
    /// Identity of the lock file we created, so that release never removes a
    /// lock that someone else created after judging ours stale. The change
    /// time is part of it because a file system may give a new file the inode
    /// number of one just removed.
    private let device: dev_t
    private let inode: ino_t
    private let changed: timespec

    /// Creates the dotlock, waiting while someone else holds it.
    ///
    /// Returns nil when the mail directory does not let us create files
    /// (EACCES). That is a supported setup, not an error: the traditional
    /// `/var/mail` is `root:mail 2775` and the worker carries the `mail` group
    /// to create its lock there, but a mail directory without group write
    /// (or a test prefix where the worker is not in the directory's group)
    /// leaves the fcntl lock as the only lock, which still excludes every
    /// fcntl-aware reader and every other Postern worker.
    static func acquire(
        path: String,
        deadline: MboxSystem.Deadline,
        retryInterval: Duration,
        staleAfterSeconds: Int
    ) throws(MboxError) -> MboxDotLock? {
        let flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY
        while true {
            switch MboxSystem.open(path, flags, 0o600) {
            case .success(let fd):
                defer { MboxSystem.close(fd) }
                // The pid is only informative (liblockfile readers print it);
                // failing to write it does not weaken the lock.
                _ = MboxSystem.writeAll(fd, Array("\(getpid())\n".utf8))
                switch MboxSystem.fstat(fd) {
                case .success(let st):
                    return MboxDotLock(path: path, device: st.st_dev, inode: st.st_ino, changed: st.st_ctim)
                case .failure(let e):
                    _ = unlink(path)
                    throw .io(operation: "fstat dotlock \(path)", errno: e)
                }
            case .failure(EACCES):
                return nil
            case .failure(EEXIST):
                if removeIfStale(path: path, staleAfterSeconds: staleAfterSeconds) {
                    // Try again at once; the deadline still bounds the loop.
                    if deadline.hasPassed { throw .lockTimeout }
                    continue
                }
            case .failure(let e):
                throw .io(operation: "create dotlock \(path)", errno: e)
            }
            if deadline.hasPassed { throw .lockTimeout }
            MboxSystem.sleep(retryInterval, until: deadline)
        }
    }

    /// Removes a dotlock left by a writer that died. True when the lock is
    /// gone (removed by us or vanished) so that creation can be retried now.
    ///
    /// A crashed writer must not block the mailbox forever; five minutes is
    /// the age the traditional writers use, far longer than any append takes.
    /// If the lock cannot be examined or removed we simply keep waiting, and
    /// the lock timeout decides.
    private static func removeIfStale(path: String, staleAfterSeconds: Int) -> Bool {
        let st: stat
        switch MboxSystem.lstat(path) {
        case .success(let found): st = found
        case .failure(let e): return e == ENOENT
        }
        let now = Int(time(nil))
        guard now - Int(st.st_mtim.tv_sec) > staleAfterSeconds || holderIsGone(path: path, lock: st) else {
            return false
        }
        // unlink removes a symbolic link itself, never its target, so a lock
        // path planted as a symlink is safe to remove here.
        if unlink(path) == 0 { return true }
        return errno == ENOENT
    }

    /// Whether the lock names, as its content, the pid of a process that no
    /// longer exists (a killed writer; liblockfile judges the same way).
    /// ESRCH only: a process of another user answers EPERM, and a lock
    /// with no pid yet (its writer is between create and write) or with
    /// anything else in it waits for the age limit.
    private static func holderIsGone(path: String, lock: stat) -> Bool {
        let fd = Glibc.open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY)
        guard fd >= 0 else { return false }
        defer { MboxSystem.close(fd) }
        var opened = stat()
        guard fstat(fd, &opened) == 0, opened.st_ino == lock.st_ino, opened.st_dev == lock.st_dev,
            opened.st_mode & S_IFMT == S_IFREG
        else { return false }
        var buffer = [UInt8](repeating: 0, count: 24)
        guard case .success(let n) = MboxSystem.pread(fd, into: &buffer, count: buffer.count, at: 0), n > 1,
            buffer[n - 1] == 0x0A,
            let pid = Int32(String(decoding: buffer[0..<(n - 1)], as: UTF8.self)), pid > 1
        else { return false }
        if kill(pid, 0) != 0 { return errno == ESRCH }
        return isZombie(pid)
    }

    /// A killed writer whose parent has not reaped it yet (or whose parent
    /// died too, leaving it to an init that may never reap) still answers
    /// kill(pid, 0); its state in /proc says it is gone.
    private static func isZombie(_ pid: Int32) -> Bool {
        let fd = Glibc.open("/proc/\(pid)/stat", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { MboxSystem.close(fd) }
        var buffer = [UInt8](repeating: 0, count: 512)
        guard case .success(let n) = MboxSystem.pread(fd, into: &buffer, count: buffer.count, at: 0),
            let close = buffer[0..<n].lastIndex(of: UInt8(ascii: ")")), close + 2 < n
        else { return false }
        return buffer[close + 2] == UInt8(ascii: "Z")
    }

    /// Removes the dotlock if it is still ours.
    func release() {
        guard case .success(let st) = MboxSystem.lstat(path),
            st.st_dev == device, st.st_ino == inode,
            st.st_ctim.tv_sec == changed.tv_sec, st.st_ctim.tv_nsec == changed.tv_nsec
        else { return }
        _ = unlink(path)
    }
}

/// The fcntl (POSIX record) write lock on the whole mailbox.
enum MboxRecordLock {
    /// Takes the lock with F_SETLK, polling until `deadline`. Polling rather
    /// than F_SETLKW because F_SETLKW cannot be given a timeout without
    /// signals, and a worker must not hang forever behind a stuck reader.
    ///
    /// A traditional record lock belongs to the process: another thread of
    /// this process would not be excluded by it. A worker writes for one user
    /// and serialises its deliveries, and the dotlock covers the rest.
    static func acquire(fd: Int32, deadline: MboxSystem.Deadline, retryInterval: Duration) throws(MboxError) {
        while true {
            var lock = flock()
            lock.l_type = Int16(F_WRLCK)
            lock.l_whence = Int16(SEEK_SET)
            lock.l_start = 0
            lock.l_len = 0
            if fcntl(fd, F_SETLK, &lock) == 0 { return }
            let e = errno
            switch e {
            case EINTR:
                continue
            case EACCES, EAGAIN:
                if deadline.hasPassed { throw .lockTimeout }
                MboxSystem.sleep(retryInterval, until: deadline)
            default:
                throw .io(operation: "fcntl F_SETLK", errno: e)
            }
        }
    }

    /// Closing the descriptor would release the lock too; releasing it
    /// explicitly keeps the unlock paired with the lock instead of depending
    /// on when, and by which path, the descriptor gets closed.
    static func release(fd: Int32) {
        var lock = flock()
        lock.l_type = Int16(F_UNLCK)
        lock.l_whence = Int16(SEEK_SET)
        lock.l_start = 0
        lock.l_len = 0
        _ = fcntl(fd, F_SETLK, &lock)
    }
}
