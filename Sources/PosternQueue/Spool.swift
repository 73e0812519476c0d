import PosternCore

#if canImport(Glibc)
    import Glibc
#endif

/// The queue's durable store: one directory, `msg/`, under the spool root.
///
/// A message exists exactly when `msg/ID.c` exists and decodes (its last
/// line is `end`). Everything else in `msg/` is either on its way to that
/// state or left over from a crash, and `recover()` clears it. The only step
/// that makes a message exist is a `rename` of a complete, fsynced `ID.t`
/// over `ID.c`, so a crash at any point leaves either no message or a whole one.
///
/// Every operation goes through a descriptor of `msg/` (`openat`,
/// `renameat`, `unlinkat`): the directory that is fsynced is the one that
/// was written, and no path is rebuilt from the root after start-up.
///
/// Not locked: the queue drives it from one place. The only state is the
/// directory descriptor, fixed at init.
public final class Spool: Sendable {
    public let root: String
    let directory: Int32

    public init(root: String) throws(SpoolError) {
        self.root = root
        let path = root.hasSuffix("/") ? root + "msg" : root + "/msg"
        var created = false
        if mkdir(path, 0o700) == 0 {
            created = true
        } else if errno != EEXIST {
            throw .system(operation: "mkdir", name: "msg", errno: errno)
        }
        // O_NOFOLLOW: a symlink in place of msg/ would move the queue's
        // writes out of the spool.
        let fd = Spool.retrying { open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW) }
        if fd < 0 { throw .system(operation: "open", name: "msg", errno: errno) }
        // The umask may have removed the owner's bits; group and other never
        // get any, whatever the umask.
        if created, fchmod(fd, 0o700) != 0 {
            let e = errno
            close(fd)
            throw .system(operation: "fchmod", name: "msg", errno: e)
        }
        directory = fd
    }

    deinit { close(directory) }

    /// Bytes an unprivileged writer may still use in the spool's file
    /// system (blocks available to non-root times the fragment size); nil
    /// when the file system does not say.
    public func freeBytes() -> UInt64? {
        var info = statvfs()
        guard fstatvfs(directory, &info) == 0 else { return nil }
        let (bytes, overflow) = UInt64(info.f_bavail).multipliedReportingOverflow(by: UInt64(info.f_frsize))
        return overflow ? UInt64.max : bytes
    }

    // MARK: - new messages

    /// O_EXCL, so an id is never shared with a file that exists, whatever
    /// left it there; a collision (60 random bits) just draws again.
    public func createData() throws(SpoolError) -> (id: QueueID, fd: Int32) {
        for _ in 0..<16 {
            let id = QueueID.generate()
            let name = Spool.name(id, "d")
            let fd = openAt(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o600)
            if fd >= 0 { return (id, fd) }
            let e = errno
            if e != EEXIST { throw .system(operation: "create", name: name, errno: e) }
        }
        throw .noFreeQueueID
    }

    /// The client gets its 250 only after this returns: the data, the
    /// control file and the directory entry are all on disk by then.
    public func commit(_ envelope: Envelope, dataFD: Int32) throws(SpoolError) {
        try stage(envelope, dataFD: dataFD)
        do throws(SpoolError) {
            try syncDirectory()
        } catch {
            // The client will get a 451 and send again; a control file that
            // survived anyway would make that a duplicate.
            _ = unlinkAt(Spool.name(envelope.queueID, "c"))
            throw error
        }
    }

    /// When several messages end DATA together, one directory fsync covers
    /// all their renames, so the cost of the slowest step is shared.
    public func commit(batch: [(Envelope, Int32)]) -> [Result<Void, SpoolError>] {
        var results = [Result<Void, SpoolError>]()
        results.reserveCapacity(batch.count)
        var staged = [Int]()
        for (index, (envelope, fd)) in batch.enumerated() {
            do throws(SpoolError) {
                try stage(envelope, dataFD: fd)
                results.append(.success(()))
                staged.append(index)
            } catch {
                results.append(.failure(error))
            }
        }
        if staged.isEmpty { return results }
        do throws(SpoolError) {
            try syncDirectory()
        } catch {
            for index in staged {
                _ = unlinkAt(Spool.name(batch[index].0.queueID, "c"))
                results[index] = .failure(error)
            }
        }
        return results
    }

    /// Everything of commit but the directory fsync. The size is the data
    /// file's, not what the listener counted, since that is what will be
    /// delivered.
    func stage(_ envelope: Envelope, dataFD: Int32) throws(SpoolError) {
        let id = envelope.queueID
        let dataName = Spool.name(id, "d")
        var own = stat()
        if fstat(dataFD, &own) != 0 { throw .system(operation: "fstat", name: dataName, errno: errno) }
        // The descriptor must be this id's data file, or the envelope would
        // describe some other message's body.
        var onDisk = stat()
        if fstatat(directory, dataName, &onDisk, AT_SYMLINK_NOFOLLOW) != 0 {
            if errno == ENOENT { throw .dataMismatch(id) }
            throw .system(operation: "stat", name: dataName, errno: errno)
        }
        guard (own.st_mode & S_IFMT) == S_IFREG, own.st_dev == onDisk.st_dev, own.st_ino == onDisk.st_ino else {
            throw .dataMismatch(id)
        }
        // Committing twice would let whoever asks reset a queued envelope
        // (recipients back to pending, another sender); that is update's job.
        var existing = stat()
        if fstatat(directory, Spool.name(id, "c"), &existing, AT_SYMLINK_NOFOLLOW) == 0 { throw .alreadyCommitted(id) }
        if errno != ENOENT { throw .system(operation: "stat", name: Spool.name(id, "c"), errno: errno) }
        if Spool.retrying({ fsync(dataFD) }) != 0 { throw .system(operation: "fsync", name: dataName, errno: errno) }

        var sized = envelope
        sized.size = Int64(own.st_size)
        try writeControl(sized, durable: true)
    }

    /// Only for a message that was never committed: a committed one is left
    /// alone, so a confused or compromised peer cannot delete queued mail
    /// through the abort path.
    public func abort(_ id: QueueID) {
        var st = stat()
        if fstatat(directory, Spool.name(id, "c"), &st, AT_SYMLINK_NOFOLLOW) == 0 { return }
        _ = unlinkAt(Spool.name(id, "t"))
        _ = unlinkAt(Spool.name(id, "d"))
    }

    // MARK: - queued messages

    /// `durable: false` for changes that only cost a repeated attempt if
    /// lost (delivery is at-least-once); a state that must not be lost, such
    /// as a recipient that bounced, needs `durable: true`.
    public func update(_ envelope: Envelope, durable: Bool) throws(SpoolError) {
        let id = envelope.queueID
        var st = stat()
        if fstatat(directory, Spool.name(id, "c"), &st, AT_SYMLINK_NOFOLLOW) != 0 {
            if errno == ENOENT { throw .noSuchMessage(id) }
            throw .system(operation: "stat", name: Spool.name(id, "c"), errno: errno)
        }
        try writeControl(envelope, durable: durable)
        if durable { try syncDirectory() }
    }

    /// Control file first: a crash between the two unlinks leaves data
    /// without a control file, which recovery discards, rather than a
    /// control file without data. Not fsynced: if the removal is lost the
    /// message is delivered again, which at-least-once allows.
    public func remove(_ id: QueueID) {
        _ = unlinkAt(Spool.name(id, "c"))
        _ = unlinkAt(Spool.name(id, "d"))
    }

    /// Deliveries get a descriptor, never a path into the spool.
    public func openDataReadOnly(_ id: QueueID) throws(SpoolError) -> Int32 {
        let name = Spool.name(id, "d")
        let fd = openAt(name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        if fd < 0 {
            if errno == ENOENT { throw .noSuchMessage(id) }
            throw .system(operation: "open", name: name, errno: errno)
        }
        return fd
    }

    // MARK: - recovery

    /// One readdir; then, per message, one open/fstat/read of its control
    /// file and nothing for its data file but the name seen in the listing.
    ///
    /// Removes only what can never become a message. A control file that
    /// cannot be read for a reason that may pass (EMFILE, EIO) is left in
    /// place for the next start, and if the directory cannot be listed
    /// completely nothing is removed, since a missing `ID.d` in a partial
    /// listing would look like a control file without data.
    public func recover() -> (messages: [Envelope], problems: [String]) {
        var problems = [String]()
        let entries: [[UInt8]]
        switch listDirectory() {
        case .success(let names): entries = names
        case .failure(let error): return ([], ["queue: could not list msg/, nothing recovered: \(error)"])
        }

        struct Files { var c = false, d = false, t = false }
        var byID = [QueueID: Files]()
        var unknown = [[UInt8]]()
        for name in entries {
            guard let (id, suffix) = Spool.parse(name) else {
                unknown.append(name)
                continue
            }
            switch suffix {
            case UInt8(ascii: "c"): byID[id, default: Files()].c = true
            case UInt8(ascii: "d"): byID[id, default: Files()].d = true
            default: byID[id, default: Files()].t = true
            }
        }

        for name in unknown.sorted(by: { $0.lexicographicallyPrecedes($1) }) {
            let shown = ControlFile.sanitize(name)
            if let failure = removeUnknown(name) {
                problems.append("queue file=\"\(shown)\": could not remove unknown file (\(failure))")
            } else {
                problems.append("queue file=\"\(shown)\": removed unknown file")
            }
        }

        var messages = [Envelope]()
        messages.reserveCapacity(byID.count)
        for id in byID.keys.sorted() {
            guard let files = byID[id] else { continue }
            let prefix = "queue id=\(id):"
            let c = Spool.name(id, "c"), d = Spool.name(id, "d"), t = Spool.name(id, "t")
            if files.t {
                problems.append("\(prefix) removed stale temporary control file\(unlinkNote(t))")
            }
            switch (files.c, files.d) {
            case (false, false):
                continue
            case (false, true):
                problems.append(
                    "\(prefix) removed data file without control file (upload never committed)\(unlinkNote(d))")
                continue
            case (true, false):
                problems.append("\(prefix) removed control file without data file\(unlinkNote(c))")
                continue
            case (true, true):
                break
            }

            let reason: String
            switch readControl(c) {
            case .unreadable(let code):
                problems.append("\(prefix) could not read control file, left in place: \(SpoolError.errnoText(code))")
                continue
            case .invalid(let why):
                reason = "removed invalid control file (\(why))"
            case .bytes(let bytes):
                do throws(ControlFileError) {
                    let envelope = try ControlFile.decode(bytes)
                    if envelope.queueID == id {
                        messages.append(envelope)
                        continue
                    }
                    reason = "removed invalid control file (id mismatch: file says \(envelope.queueID))"
                } catch .noEndMarker {
                    reason = "removed torn control file (no end marker)"
                } catch {
                    reason = "removed invalid control file (\(error))"
                }
            }
            problems.append("\(prefix) \(reason)\(unlinkNote(c)), data file removed\(unlinkNote(d))")
        }
        return (messages, problems)
    }

    // MARK: - internals

    static func name(_ id: QueueID, _ suffix: String) -> String { id.value + "." + suffix }

    /// `ID.c`, `ID.d`, `ID.t` with a valid id; anything else is unknown.
    static func parse(_ name: [UInt8]) -> (QueueID, UInt8)? {
        guard name.count == QueueID.length + 2, name[QueueID.length] == UInt8(ascii: ".") else { return nil }
        let suffix = name[QueueID.length + 1]
        guard suffix == UInt8(ascii: "c") || suffix == UInt8(ascii: "d") || suffix == UInt8(ascii: "t") else {
            return nil
        }
        guard let id = QueueID(String(decoding: name[0..<QueueID.length], as: UTF8.self)) else { return nil }
        return (id, suffix)
    }

    static func retrying(_ call: () -> Int32) -> Int32 {
        while true {
            let r = call()
            if r >= 0 || errno != EINTR { return r }
        }
    }

    func openAt(_ name: String, _ flags: Int32, _ mode: mode_t = 0) -> Int32 {
        Spool.retrying { openat(directory, name, flags, mode) }
    }

    /// 0 or the errno; ENOENT counts as success, the file is gone either way.
    func unlinkAt(_ name: String) -> Int32 {
        if unlinkat(directory, name, 0) == 0 || errno == ENOENT { return 0 }
        return errno
    }

    func unlinkNote(_ name: String) -> String {
        let code = unlinkAt(name)
        return code == 0 ? "" : " (unlink failed: \(SpoolError.errnoText(code)))"
    }

    func syncDirectory() throws(SpoolError) {
        if Spool.retrying({ fsync(directory) }) != 0 { throw .system(operation: "fsync", name: "msg", errno: errno) }
    }

    /// Writes `ID.t` and renames it over `ID.c`. On any failure the `.t` is
    /// removed and `ID.c`, if there was one, is as it was.
    func writeControl(_ envelope: Envelope, durable: Bool) throws(SpoolError) {
        let id = envelope.queueID
        let bytes: [UInt8]
        do throws(ControlFileError) {
            bytes = try ControlFile.encode(envelope)
        } catch {
            throw .controlFile(id, error)
        }
        let t = Spool.name(id, "t"), c = Spool.name(id, "c")
        let fd = openAt(t, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0o600)
        if fd < 0 { throw .system(operation: "create", name: t, errno: errno) }
        var failure: SpoolError? = nil
        if let code = Spool.writeAll(fd, bytes) {
            failure = .system(operation: "write", name: t, errno: code)
        } else if durable, Spool.retrying({ fsync(fd) }) != 0 {
            failure = .system(operation: "fsync", name: t, errno: errno)
        }
        // close can report a write error that write did not (NFS, quotas).
        if close(fd) != 0, failure == nil, errno != EINTR {
            failure = .system(operation: "close", name: t, errno: errno)
        }
        if failure == nil, renameat(directory, t, directory, c) != 0 {
            failure = .system(operation: "rename", name: t, errno: errno)
        }
        if let failure {
            _ = unlinkAt(t)
            throw failure
        }
    }

    /// nil, or the errno of the write that failed.
    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Int32? {
        bytes.withUnsafeBytes { raw -> Int32? in
            guard let base = raw.baseAddress else { return nil }
            var done = 0
            while done < raw.count {
                let n = write(fd, base + done, raw.count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    return errno
                }
                if n == 0 { return EIO }
                done += n
            }
            return nil
        }
    }

    enum ControlRead {
        case bytes([UInt8])
        /// Can never become valid: remove it.
        case invalid(String)
        /// Might read next time: leave it.
        case unreadable(Int32)
    }

    func readControl(_ name: String) -> ControlRead {
        // O_NONBLOCK: a FIFO in place of a control file must not hang start-up.
        let fd = openAt(name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
        if fd < 0 {
            let e = errno
            if e == ELOOP { return .invalid("a symbolic link") }
            return .unreadable(e)
        }
        defer { close(fd) }
        var st = stat()
        if fstat(fd, &st) != 0 { return .unreadable(errno) }
        if (st.st_mode & S_IFMT) != S_IFREG { return .invalid("not a regular file") }
        if st.st_size > Int64(ControlFile.maxSize) {
            return .invalid(ControlFileError.tooLarge(size: Int(st.st_size)).description)
        }

        // One byte more than fstat said, to see a file that grew meanwhile;
        // decode refuses anything over the bound.
        let capacity = Int(max(st.st_size, 0)) + 1
        var buffer = [UInt8](repeating: 0, count: capacity)
        var total = 0
        var readError: Int32 = 0
        buffer.withUnsafeMutableBytes { raw in
            guard let base = raw.baseAddress else { return }
            while total < raw.count {
                let n = read(fd, base + total, raw.count - total)
                if n < 0 {
                    if errno == EINTR { continue }
                    readError = errno
                    return
                }
                if n == 0 { return }
                total += n
            }
        }
        if readError != 0 { return .unreadable(readError) }
        buffer.removeSubrange(total...)
        return .bytes(buffer)
    }

    /// Every name in msg/ but `.` and `..`, as raw bytes: a name that is not
    /// UTF-8 must still be removable by the name it has.
    func listDirectory() -> Result<[[UInt8]], SpoolError> {
        // A fresh open file description: readdir on a dup of `directory`
        // would share (and move) its offset.
        let fd = openAt(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd < 0 { return .failure(.system(operation: "open", name: "msg", errno: errno)) }
        guard let dir = fdopendir(fd) else {
            let e = errno
            close(fd)
            return .failure(.system(operation: "fdopendir", name: "msg", errno: e))
        }
        defer { closedir(dir) }
        var names = [[UInt8]]()
        while true {
            errno = 0
            guard let entry = readdir(dir) else {
                if errno != 0 { return .failure(.system(operation: "readdir", name: "msg", errno: errno)) }
                return .success(names)
            }
            let name: [UInt8] = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                Array(raw.prefix(while: { $0 != 0 }))
            }
            if name == [0x2E] || name == [0x2E, 0x2E] { continue }
            names.append(name)
        }
    }

    /// nil when removed. A directory is removed only if empty: recovery
    /// deletes stray names, not trees.
    func removeUnknown(_ name: [UInt8]) -> String? {
        let cName = name.map { CChar(bitPattern: $0) } + [0]
        return cName.withUnsafeBufferPointer { buffer -> String? in
            guard let path = buffer.baseAddress else { return "empty name" }
            if unlinkat(directory, path, 0) == 0 || errno == ENOENT { return nil }
            var code = errno
            if code == EISDIR {
                if unlinkat(directory, path, AT_REMOVEDIR) == 0 || errno == ENOENT { return nil }
                code = errno
            }
            return SpoolError.errnoText(code)
        }
    }
}
