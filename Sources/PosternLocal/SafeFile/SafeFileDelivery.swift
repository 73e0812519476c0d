#if canImport(Glibc)
    import Glibc
#endif

/// Appends a message to a file named in an alias or `.forward`
/// (`/archive/list`), inside the SafeFileEnvironment jail.
///
/// In production this runs in a worker chrooted into the SafeFileEnvironment
/// directory and dropped to the recipient, which passes `open("/")` as the
/// root; tests pass a temporary directory. Either way nothing outside the
/// root descriptor can be reached: see `SafeFileOpener`.
///
/// The file gets the same mbox format as a mailbox, written by the same code
/// (`MboxDelivery.append`): From_ line, mboxrd quoting, the fcntl lock, fsync,
/// and the whole append cut back off if any of it fails. There is no dotlock:
/// the recipient may well be allowed to append to the file but not to create
/// files next to it.
public enum SafeFileDelivery {
    public struct Options: Sendable {
        /// Longest wait for the fcntl lock.
        public var lockTimeout: Duration
        /// Pause between lock attempts.
        public var lockRetryInterval: Duration
        /// Bytes read from the message per pread; bounds memory.
        public var chunkSize: Int

        public init(
            lockTimeout: Duration = .seconds(10), lockRetryInterval: Duration = .milliseconds(100),
            chunkSize: Int = 64 * 1024
        ) {
            self.lockTimeout = lockTimeout
            self.lockRetryInterval = lockRetryInterval
            self.chunkSize = chunkSize
        }
    }

    /// - Parameters:
    ///   - path: the target inside the jail (check `SafeFilePath.isDevNull`
    ///     on the raw target first).
    ///   - root: a directory descriptor standing for the jail's root; it is
    ///     only used, never closed.
    ///   - messageFD: the spooled message, read with pread from offset 0.
    ///   - envelopeSender: "" (null sender) becomes MAILER-DAEMON on the
    ///     From_ line.
    ///   - arrival: seconds since the epoch, for the From_ line (UTC).
    ///   - extraHeaders: header lines after the From_ line, without line end.
    /// - Returns: the number of bytes appended.
    public static func deliver(
        to path: SafeFilePath, root: Int32, messageFD: Int32, envelopeSender: String, arrival: Int64,
        extraHeaders: [String], options: Options = Options()
    ) throws(SafeFileError) -> Int {
        guard options.chunkSize > 0 else {
            throw .invalidArgument(reason: "chunk size must be positive, got \(options.chunkSize)")
        }
        guard let name = path.components.last else {
            throw .invalidPath(reason: "no file name")
        }
        // Rejected before anything in the jail is touched.
        let preamble = try SafeFileError.mapping { () throws(MboxError) in
            try MboxPreamble.fromLine(sender: envelopeSender, arrival: arrival)
                + MboxPreamble.headerLines(extraHeaders)
        }
        let shown = path.description
        let directory = try SafeFileOpener.openParent(of: path, root: root)
        defer { _ = close(directory) }

        let deadline = MboxSystem.Deadline(after: options.lockTimeout)
        let fd = try openAndLock(
            name, in: directory, shown: shown, deadline: deadline, retryInterval: options.lockRetryInterval)
        defer {
            MboxRecordLock.release(fd: fd)
            MboxSystem.close(fd)
        }
        // Taken under the lock: before it, another writer could still have
        // been appending.
        let originalSize: off_t
        switch MboxSystem.fstat(fd) {
        case .success(let st): originalSize = st.st_size
        case .failure(let e): throw .io(operation: "fstat \(shown)", errno: e)
        }
        do throws(MboxError) {
            return try MboxDelivery.append(
                to: fd, preamble: preamble, messageFD: messageFD, chunkSize: options.chunkSize)
        } catch {
            // All or nothing: a partial message would read as a whole one and
            // the retry would add a second copy.
            while ftruncate(fd, originalSize) != 0 && errno == EINTR {}
            _ = MboxSystem.fsync(fd)
            throw SafeFileError(error)
        }
    }

    /// Opens (or creates) the file, takes the fcntl lock, and makes sure the
    /// name still refers to the locked file: one renamed over it meanwhile
    /// would take the message with it, so that starts over.
    private static func openAndLock(
        _ name: String, in directory: Int32, shown: String, deadline: MboxSystem.Deadline, retryInterval: Duration
    ) throws(SafeFileError) -> Int32 {
        for _ in 0..<5 {
            let (fd, created) = try SafeFileOpener.openFile(named: name, in: directory, shown: shown)
            do throws(SafeFileError) {
                try SafeFileError.mapping { () throws(MboxError) in
                    try MboxRecordLock.acquire(fd: fd, deadline: deadline, retryInterval: retryInterval)
                }
            } catch {
                MboxSystem.close(fd)
                throw error
            }
            let inPlace: Bool
            do throws(SafeFileError) {
                inPlace = try SafeFileOpener.isStillInPlace(fd, named: name, in: directory, shown: shown)
            } catch {
                MboxRecordLock.release(fd: fd)
                MboxSystem.close(fd)
                throw error
            }
            if inPlace {
                if created { syncDirectory(directory) }
                return fd
            }
            MboxRecordLock.release(fd: fd)
            MboxSystem.close(fd)
        }
        throw .refused(reason: "\(shown) kept being replaced while it was being locked")
    }

    /// Makes a new file's directory entry durable. Best effort, as for
    /// mailboxes: the recipient may not be allowed to read the directory.
    private static func syncDirectory(_ directory: Int32) {
        let fd = openat(directory, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        _ = MboxSystem.fsync(fd)
        MboxSystem.close(fd)
    }
}
