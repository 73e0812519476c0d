#if canImport(Glibc)
    import Glibc
#endif

/// Appends messages to mbox mailboxes (mboxrd flavour) for the local
/// delivery worker.
///
/// The worker has already dropped to the recipient's uid/gid (plus `mail`), so
/// the kernel stops us writing other users' files — but only if we never
/// follow what the mail directory points at. `/var/mail` is group-writable by
/// `mail`, so anyone in that group can plant a symlink, a hard link or a FIFO
/// at a mailbox name; everything here assumes the directory is hostile and
/// checks the file it actually opened, not the name.
public struct MboxDelivery {
    /// Tunables; the defaults are what production uses. Tests shrink the
    /// timeouts and the chunk size to reach the edge cases quickly.
    public struct Options: Sendable {
        /// Longest total wait for the dotlock and the fcntl lock together.
        public var lockTimeout: Duration
        /// Pause between lock attempts.
        public var lockRetryInterval: Duration
        /// Age (by mtime) after which a dotlock is taken as left by a dead writer.
        public var staleDotlockAfterSeconds: Int
        /// Bytes read from the message per pread; also the size at which
        /// output is written out. Bounds memory whatever the message size.
        public var chunkSize: Int

        public init(
            lockTimeout: Duration = .seconds(10),
            lockRetryInterval: Duration = .milliseconds(100),
            staleDotlockAfterSeconds: Int = 300,
            chunkSize: Int = 64 * 1024
        ) {
            self.lockTimeout = lockTimeout
            self.lockRetryInterval = lockRetryInterval
            self.staleDotlockAfterSeconds = staleDotlockAfterSeconds
            self.chunkSize = chunkSize
        }
    }

    /// Appends one message to the mailbox at `path` (e.g. "/var/mail/alice").
    ///
    /// - Parameters:
    ///   - messageFD: read-only descriptor of the spooled message (CRLF line
    ///     ends, as received, Received: already added). Read with pread from
    ///     offset 0; its file offset is neither used nor changed.
    ///   - envelopeSender: the reverse path; "" (null sender) is written as
    ///     `MAILER-DAEMON` on the From_ line.
    ///   - arrival: seconds since the epoch, for the From_ line date (UTC).
    ///   - expectedOwner: the uid the mailbox must belong to.
    ///   - extraHeaders: header lines put after the From_ line, without line end.
    /// - Returns: the number of bytes appended.
    /// - Throws: `MboxError`; when it throws, the mailbox holds exactly what it
    ///   held before (unless even the truncation back failed).
    public static func deliver(
        path: String,
        messageFD: Int32,
        envelopeSender: String,
        arrival: Int64,
        expectedOwner: uid_t,
        extraHeaders: [String]
    ) throws(MboxError) -> Int {
        try deliver(
            path: path, messageFD: messageFD, envelopeSender: envelopeSender,
            arrival: arrival, expectedOwner: expectedOwner, extraHeaders: extraHeaders,
            options: Options())
    }

    /// As `deliver(path:messageFD:envelopeSender:arrival:expectedOwner:extraHeaders:)`,
    /// with explicit tunables.
    public static func deliver(
        path: String,
        messageFD: Int32,
        envelopeSender: String,
        arrival: Int64,
        expectedOwner: uid_t,
        extraHeaders: [String],
        options: Options
    ) throws(MboxError) -> Int {
        try deliver(
            path: path, messageFD: messageFD, envelopeSender: envelopeSender, arrival: arrival,
            expectedOwner: expectedOwner, extraHeaders: extraHeaders, once: nil, options: options
        ).bytes
    }

    /// Appends one message, once: with `once`, the mailbox's journal
    /// (`MboxJournal`) records the delivery before it is appended, a copy
    /// an interrupted writer left half-written is cut off first, and a
    /// delivery that may already have happened is looked for and not
    /// appended again when the mailbox holds it.
    public static func deliver(
        path: String,
        messageFD: Int32,
        envelopeSender: String,
        arrival: Int64,
        expectedOwner: uid_t,
        extraHeaders: [String],
        once: DeliveryOnce?,
        options: Options = Options()
    ) throws(MboxError) -> MboxDeliveryReport {
        try validate(path: path)
        guard options.chunkSize > 0 else {
            throw .invalidArgument(reason: "chunk size must be positive, got \(options.chunkSize)")
        }
        // Everything that can be rejected without touching the mailbox is
        // checked before any lock is taken.
        var preamble = try MboxPreamble.fromLine(sender: envelopeSender, arrival: arrival)
        preamble.append(contentsOf: try MboxPreamble.headerLines(extraHeaders))
        let rendering = MboxRendering(preamble: preamble, messageFD: messageFD, chunkSize: options.chunkSize)

        let deadline = MboxSystem.Deadline(after: options.lockTimeout)
        let dotlock = try MboxDotLock.acquire(
            path: path + ".lock", deadline: deadline,
            retryInterval: options.lockRetryInterval,
            staleAfterSeconds: options.staleDotlockAfterSeconds)
        defer { dotlock?.release() }

        let fd = try openAndLock(
            path: path, expectedOwner: expectedOwner,
            deadline: deadline, retryInterval: options.lockRetryInterval)
        defer {
            MboxRecordLock.release(fd: fd)
            MboxSystem.close(fd)
        }
        var report = MboxDeliveryReport()
        var journal: MboxJournal?
        if once != nil {
            switch MboxJournalAccess.open(forMailbox: path, owner: expectedOwner) {
            case .success(let opened): journal = opened
            case .failure(let why): report.notes.append("no delivery journal for \(path): \(why)")
            }
        }
        defer { journal?.close() }
        let mailbox: stat
        switch MboxSystem.fstat(fd) {
        case .success(let st): mailbox = st
        case .failure(let e): throw .io(operation: "fstat mailbox \(path)", errno: e)
        }
        // Sizes are taken under the lock: before it, another locked writer
        // could still have been appending.
        var size = mailbox.st_size
        if let journal, let once {
            size = try MboxTail.cutInterruptedAppend(
                fd: fd, journal: journal, inode: UInt64(mailbox.st_ino), size: size, notes: &report.notes)
            if once.maybeDelivered, let entry = journal.find(once.id), entry.inode == UInt64(mailbox.st_ino),
                entry.end <= Int64(size), try rendering.matches(fd: fd, at: off_t(entry.offset))
            {
                report.bytes = entry.digest.length
                report.alreadyDelivered = true
                return report
            }
        }
        let originalSize = size
        do throws(MboxError) {
            size += off_t(try MboxTail.separate(fd: fd, size: size))
            let whole = try rendering.bytes(upTo: Self.inMemoryLimit)
            if let journal, let once {
                let digest: MboxDigest
                if let whole { digest = MboxDigest(of: whole) } else { digest = try rendering.digest() }
                let entry = MboxJournal.Entry(
                    id: once.id, inode: UInt64(mailbox.st_ino), offset: Int64(size), digest: digest)
                if let e = journal.record(entry) {
                    report.notes.append("cannot write the delivery journal of \(path): errno \(e)")
                }
            }
            report.bytes = try append(to: fd, whole: whole, rendering: rendering)
            return report
        } catch {
            // A partial message would be read as a whole (truncated) one, and
            // the retry would add a second copy; so the append is all or nothing.
            while ftruncate(fd, originalSize) != 0 && errno == EINTR {}
            _ = MboxSystem.fsync(fd)
            throw error
        }
    }

    /// Output up to this size is rendered once, in memory, and written in
    /// one call; larger messages are streamed (and read twice when a
    /// journal needs their summary first).
    static let inMemoryLimit = 1 << 20

    // MARK: - Steps

    /// Only absolute paths with a real last component: a relative path would
    /// depend on the worker's current directory, and "." or ".." cannot be a
    /// mailbox.
    private static func validate(path: String) throws(MboxError) {
        let bytes = Array(path.utf8)
        guard bytes.first == UInt8(ascii: "/") else {
            throw .invalidArgument(reason: "mailbox path must be absolute: \(path.debugDescription)")
        }
        guard !bytes.contains(0) else {
            throw .invalidArgument(reason: "mailbox path contains NUL")
        }
        guard bytes.count + 5 < Int(PATH_MAX) else {
            throw .invalidArgument(reason: "mailbox path is too long")
        }
        let last = bytes.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false).last ?? []
        guard !last.isEmpty, last.elementsEqual(".".utf8) == false, last.elementsEqual("..".utf8) == false else {
            throw .invalidArgument(reason: "mailbox path has no file name: \(path.debugDescription)")
        }
    }

    /// Opens the mailbox and takes the fcntl lock, then makes sure the name
    /// still refers to the file we locked. A reader that rewrites mailboxes by
    /// rename (and ignores the dotlock) could swap the file while we waited for
    /// the lock; appending to the old one would lose the message, so we start
    /// over on the new one.
    private static func openAndLock(
        path: String, expectedOwner: uid_t,
        deadline: MboxSystem.Deadline, retryInterval: Duration
    ) throws(MboxError) -> Int32 {
        for _ in 0..<5 {
            let fd = try openMailbox(path: path, expectedOwner: expectedOwner)
            do throws(MboxError) {
                try MboxRecordLock.acquire(fd: fd, deadline: deadline, retryInterval: retryInterval)
            } catch {
                MboxSystem.close(fd)
                throw error
            }
            let inPlace: Bool
            do throws(MboxError) {
                inPlace = try isStillInPlace(fd: fd, path: path, expectedOwner: expectedOwner)
            } catch {
                MboxRecordLock.release(fd: fd)
                MboxSystem.close(fd)
                throw error
            }
            if inPlace { return fd }
            MboxRecordLock.release(fd: fd)
            MboxSystem.close(fd)
        }
        throw .unsafeMailbox(reason: "\(path) kept being replaced while it was being locked")
    }

    /// Opens an existing mailbox or creates a new one, refusing anything that
    /// is not a plain file of the recipient.
    ///
    /// The lstat before the open refuses the obvious traps without opening
    /// them (opening a device can have side effects). The open itself uses
    /// O_NOFOLLOW and O_NONBLOCK, so a symlink or FIFO swapped in after the
    /// lstat fails or returns at once instead of being followed or hanging;
    /// the fstat afterwards judges the file we really got, and its identity
    /// must match what lstat saw. Opened for reading too: the end of the
    /// mailbox is read before an append (`MboxTail`) and, for a repeat, the
    /// copy an earlier attempt wrote (`MboxRendering.matches`).
    private static func openMailbox(path: String, expectedOwner: uid_t) throws(MboxError) -> Int32 {
        for _ in 0..<5 {
            switch MboxSystem.lstat(path) {
            case .success(let before):
                try checkShape(before, path: path, expectedOwner: expectedOwner)
                let flags = O_RDWR | O_APPEND | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY
                let fd: Int32
                switch MboxSystem.open(path, flags) {
                case .success(let opened):
                    fd = opened
                case .failure(ENOENT):
                    continue  // removed since the lstat: look again
                case .failure(ELOOP):
                    throw .unsafeMailbox(reason: "\(path) is a symbolic link")
                case .failure(let e) where e == ENXIO || e == EISDIR || e == ETXTBSY:
                    throw .unsafeMailbox(reason: "\(path) is not a regular file (open: errno \(e))")
                case .failure(let e):
                    throw .io(operation: "open mailbox \(path)", errno: e)
                }
                do throws(MboxError) {
                    try checkOpened(fd: fd, path: path, expectedOwner: expectedOwner, sameAs: before)
                    try clearNonBlocking(fd: fd, path: path)
                } catch {
                    MboxSystem.close(fd)
                    throw error
                }
                return fd

            case .failure(ENOENT):
                // A file we create is owned by our euid; if that is not the
                // recipient, creating it would hand them a mailbox they do
                // not own (and that every later delivery would refuse).
                guard geteuid() == expectedOwner else {
                    throw .unsafeMailbox(
                        reason:
                            "\(path) does not exist and this process (uid \(geteuid())) is not its owner (uid \(expectedOwner))"
                    )
                }
                let flags = O_RDWR | O_CREAT | O_EXCL | O_APPEND | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY
                let fd: Int32
                switch MboxSystem.open(path, flags, 0o600) {
                case .success(let created):
                    fd = created
                case .failure(EEXIST):
                    continue  // someone created it first: open theirs, with checks
                case .failure(let e):
                    throw .io(operation: "create mailbox \(path)", errno: e)
                }
                do throws(MboxError) {
                    // Even a file we just created with O_EXCL is checked: the
                    // name could have been renamed away and replaced already.
                    try checkOpened(fd: fd, path: path, expectedOwner: expectedOwner, sameAs: nil)
                } catch {
                    MboxSystem.close(fd)
                    throw error
                }
                syncDirectory(of: path)
                return fd

            case .failure(let e):
                throw .io(operation: "lstat mailbox \(path)", errno: e)
            }
        }
        throw .unsafeMailbox(reason: "\(path) kept changing while it was being opened")
    }

    /// Judges the opened descriptor: a plain file of the recipient, with one
    /// link, and the same file the name refers to.
    private static func checkOpened(fd: Int32, path: String, expectedOwner: uid_t, sameAs before: stat?)
        throws(MboxError)
    {
        let opened: stat
        switch MboxSystem.fstat(fd) {
        case .success(let st): opened = st
        case .failure(let e): throw .io(operation: "fstat mailbox \(path)", errno: e)
        }
        try checkShape(opened, path: path, expectedOwner: expectedOwner)
        if let before, !MboxSystem.sameFile(before, opened) {
            throw .unsafeMailbox(reason: "\(path) was replaced between lstat and open")
        }
        if before == nil {
            switch MboxSystem.lstat(path) {
            case .success(let now) where MboxSystem.sameFile(now, opened):
                break
            case .success, .failure(ENOENT):
                throw .unsafeMailbox(reason: "\(path) was replaced right after being created")
            case .failure(let e):
                throw .io(operation: "lstat mailbox \(path)", errno: e)
            }
        }
    }

    /// The checks that apply to any stat of the mailbox.
    ///
    /// One link only: a hard link from `/var/mail/alice` to another file of
    /// alice's (say `~/.ssh/authorized_keys`) passes the owner check, and
    /// appending mail to it is the attack. (The kernel's protected_hardlinks
    /// usually stops the link being made; we do not rely on it.)
    private static func checkShape(_ st: stat, path: String, expectedOwner: uid_t) throws(MboxError) {
        let type = st.st_mode & S_IFMT
        if type == S_IFLNK {
            throw .unsafeMailbox(reason: "\(path) is a symbolic link")
        }
        guard type == S_IFREG else {
            throw .unsafeMailbox(reason: "\(path) is a \(MboxSystem.fileType(st)), not a regular file")
        }
        guard st.st_nlink == 1 else {
            throw .unsafeMailbox(reason: "\(path) has \(st.st_nlink) hard links")
        }
        guard st.st_uid == expectedOwner else {
            throw .unsafeMailbox(reason: "\(path) is owned by uid \(st.st_uid), not \(expectedOwner)")
        }
    }

    /// After the lock: is the locked file still the one the name refers to,
    /// still with one link? False means "start over"; a file that turned into
    /// something unsafe throws.
    private static func isStillInPlace(fd: Int32, path: String, expectedOwner: uid_t) throws(MboxError) -> Bool {
        let locked: stat
        switch MboxSystem.fstat(fd) {
        case .success(let st): locked = st
        case .failure(let e): throw .io(operation: "fstat mailbox \(path)", errno: e)
        }
        switch MboxSystem.lstat(path) {
        case .success(let named):
            guard MboxSystem.sameFile(named, locked) else { return false }
        case .failure(ENOENT):
            return false
        case .failure(let e):
            throw .io(operation: "lstat mailbox \(path)", errno: e)
        }
        try checkShape(locked, path: path, expectedOwner: expectedOwner)
        return true
    }

    /// O_NONBLOCK was only there to make opening a FIFO fail fast; writes to
    /// a regular file must block normally (and report short writes as such).
    static func clearNonBlocking(fd: Int32, path: String) throws(MboxError) {
        let flags = fcntl(fd, F_GETFL)
        guard flags >= 0 else {
            throw .io(operation: "fcntl F_GETFL \(path)", errno: errno)
        }
        guard fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) == 0 else {
            throw .io(operation: "fcntl F_SETFL \(path)", errno: errno)
        }
    }

    /// Makes a new mailbox's directory entry durable along with its data.
    /// Best effort: the mailbox may live in a directory we may not open for
    /// reading, and failing the delivery over it would only trade a rare loss
    /// on power failure for a certain retry.
    private static func syncDirectory(of path: String) {
        let dir = MboxSystem.directory(of: path)
        guard case .success(let fd) = MboxSystem.open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) else { return }
        _ = MboxSystem.fsync(fd)
        MboxSystem.close(fd)
    }

    /// Writes the rendered message (preamble, mboxrd-encoded message,
    /// closing blank line), then fsyncs. Returns the bytes written.
    static func append(to fd: Int32, whole: [UInt8]?, rendering: MboxRendering) throws(MboxError) -> Int {
        var written = 0
        if let whole {
            if let e = MboxSystem.writeAll(fd, whole) { throw .io(operation: "write mailbox", errno: e) }
            written = whole.count
        } else {
            try rendering.render { (piece) throws(MboxError) in
                if let e = MboxSystem.writeAll(fd, piece) { throw .io(operation: "write mailbox", errno: e) }
                written += piece.count
            }
        }
        if let e = MboxSystem.fsync(fd) {
            throw .io(operation: "fsync mailbox", errno: e)
        }
        return written
    }

    /// Streams the message into the mailbox with no journal (file
    /// deliveries in the SafeFileEnvironment). Returns the bytes written.
    static func append(
        to fd: Int32, preamble: [UInt8], messageFD: Int32, chunkSize: Int
    ) throws(MboxError) -> Int {
        let rendering = MboxRendering(preamble: preamble, messageFD: messageFD, chunkSize: chunkSize)
        return try append(to: fd, whole: nil, rendering: rendering)
    }
}
