#if canImport(Glibc)
    import Glibc
#endif

/// The end of a mailbox as the next append needs it: whole messages, the
/// last one closed by a blank line. Runs under the mailbox's locks.
enum MboxTail {
    /// A writer killed in the middle of an append left part of a message:
    /// the journal's newest line runs past the end of the mailbox. When the
    /// bytes there are the start of that line's output, they are cut off
    /// (the queue delivers that message again, whole). Bytes that do not
    /// match are someone else's and are left alone. Returns the size after.
    static func cutInterruptedAppend(
        fd: Int32, journal: MboxJournal, inode: UInt64, size: off_t, notes: inout [String]
    ) throws(MboxError) -> off_t {
        guard let last = journal.last(), last.inode == inode, last.offset < Int64(size), Int64(size) < last.end
        else { return size }
        let partial = Int(Int64(size) - last.offset)
        var prefix = [UInt8](repeating: 0, count: min(partial, MboxDigest.hashedLength))
        switch MboxSystem.pread(fd, into: &prefix, count: prefix.count, at: off_t(last.offset)) {
        case .success(let n) where n == prefix.count: break
        case .success: return size
        case .failure(let e): throw .io(operation: "read mailbox", errno: e)
        }
        guard last.digest.couldStart(with: prefix) else {
            notes.append(
                "the mailbox ends \(partial) bytes into delivery \(last.id) with other bytes; left as it is")
            return size
        }
        while ftruncate(fd, off_t(last.offset)) != 0 {
            guard errno == EINTR else { throw .io(operation: "truncate mailbox", errno: errno) }
        }
        if let e = MboxSystem.fsync(fd) { throw .io(operation: "fsync mailbox", errno: e) }
        notes.append("cut off \(partial) bytes an interrupted delivery (\(last.id)) left; it is delivered again whole")
        return off_t(last.offset)
    }

    /// Ends a mailbox that does not end with a blank line (edited by hand,
    /// or a partial copy left in place) so that the next From_ line starts
    /// a message of its own. Returns the bytes written.
    static func separate(fd: Int32, size: off_t) throws(MboxError) -> Int {
        guard size > 0 else { return 0 }
        var last = [UInt8](repeating: 0, count: 2)
        let count = size >= 2 ? 2 : 1
        guard case .success(let n) = MboxSystem.pread(fd, into: &last, count: count, at: size - off_t(count)),
            n == count
        else { throw .io(operation: "read mailbox", errno: EIO) }
        let separator: [UInt8]
        if last[count - 1] != 0x0A {
            separator = [0x0A, 0x0A]
        } else if count == 2 && last[0] != 0x0A {
            separator = [0x0A]
        } else {
            return 0
        }
        if let e = MboxSystem.writeAll(fd, separator) { throw .io(operation: "write mailbox", errno: e) }
        return separator.count
    }
}

/// Finds the journal of a mailbox given by path.
enum MboxJournalAccess {
    static func open(forMailbox path: String, owner: uid_t) -> Result<MboxJournal, MboxJournal.Unavailable> {
        let directory = MboxSystem.directory(of: path)
        let name = path.utf8.split(separator: UInt8(ascii: "/")).last.map { String(decoding: $0, as: UTF8.self) } ?? ""
        // O_PATH (0o10000000, hidden behind _GNU_SOURCE): the directory is
        // only a base for openat, and the worker may not be able to read it.
        let dirFD = Glibc.open(directory, 0o10_000_000 | O_DIRECTORY | O_CLOEXEC)
        guard dirFD >= 0 else { return .failure(.cannotCreate(errno: errno)) }
        defer { MboxSystem.close(dirFD) }
        return MboxJournal.open(in: dirFD, mailbox: name, owner: owner)
    }
}

/// Asks an mbox delivery to happen once (see `MboxJournal`).
public struct DeliveryOnce: Equatable, Sendable {
    /// `QUEUEID.N`, the same on every attempt.
    public var id: String
    /// An earlier attempt may have delivered it: a process died before its
    /// outcome reached the queue.
    public var maybeDelivered: Bool

    public init(id: String, maybeDelivered: Bool) {
        self.id = id
        self.maybeDelivered = maybeDelivered
    }
}

/// What an mbox delivery did.
public struct MboxDeliveryReport: Equatable, Sendable {
    public var bytes = 0
    /// The mailbox already held this delivery: nothing was appended.
    public var alreadyDelivered = false
    /// What the worker should log (a repaired tail, a missing journal).
    public var notes: [String] = []

    public init() {}
}
