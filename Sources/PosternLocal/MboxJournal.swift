#if canImport(Glibc)
    import Glibc
#endif

/// A mailbox's record of its recent deliveries, `.NAME.postern-journal`
/// beside the mailbox, written by the recipient's worker under the
/// mailbox's locks, one line per delivery, *before* the message is
/// appended:
///
///     0123456789AB.3 1234567 20480 1874 9c1d5e0f7a2b3c4d 46726f6d20...
///     delivery-id    inode   offset length hash-of-first-4KiB first-64-bytes-hex
///
/// With it a delivery happens once per (message, recipient) whatever dies
/// when:
///  - a delivery the queue could not see finish (a process died) comes
///    back marked *maybe delivered*; its line names where its bytes would
///    be, and if the mailbox holds exactly them there it is not appended
///    again;
///  - a writer killed in the middle of an append leaves a line whose
///    length runs past the end of the mailbox; the next writer recognises
///    the start of that output (head bytes and hash) and cuts the partial
///    copy off before it appends.
///
/// The line is written before the append and neither is fsynced on its
/// own account (the mailbox is fsynced as always): what survives a killed
/// process is the page cache, so the two cannot disagree. The mailbox stays
/// the truth — a line only says where to look — so a journal that is lost,
/// stale or edited costs at most a repeated copy, never a lost one.
/// Not kept when the recipient may not create it (a mail directory without
/// group write): deliveries are then at-least-once, as before.
struct MboxJournal {
    /// Beyond this the journal is cut down to its newest lines.
    static let compactAt = 256 * 1024
    /// What is kept when it is cut down (about 1,500 deliveries).
    static let keep = 128 * 1024
    /// Never read more than this of a journal.
    static let readLimit = 512 * 1024

    struct Entry: Equatable {
        var id: String
        var inode: UInt64
        var offset: Int64
        var digest: MboxDigest

        var line: String {
            "\(id) \(inode) \(offset) \(digest.length) \(Self.hex(digest.hash)) \(Self.hex(digest.head))"
        }

        init(id: String, inode: UInt64, offset: Int64, digest: MboxDigest) {
            self.id = id
            self.inode = inode
            self.offset = offset
            self.digest = digest
        }

        /// Strict: anything `line` did not write is nil (and ignored).
        init?(line: some StringProtocol) {
            let fields = line.split(separator: " ", omittingEmptySubsequences: false)
            guard fields.count == 6, DeliveryID.isValid(fields[0]),
                let inode = UInt64(fields[1]), let offset = Int64(fields[2]), offset >= 0,
                let length = Int(fields[3]), length > 0,
                fields[4].utf8.count == 16, let hash = UInt64(fields[4], radix: 16),
                let head = Self.bytes(hex: fields[5]), head.count == min(length, MboxDigest.headLength)
            else { return nil }
            self.init(
                id: String(fields[0]), inode: inode, offset: offset,
                digest: MboxDigest(length: length, head: head, hash: hash))
        }

        var end: Int64 { offset + Int64(digest.length) }

        static func hex(_ value: UInt64) -> String {
            let digits = String(value, radix: 16)
            return String(repeating: "0", count: 16 - digits.count) + digits
        }

        static func hex(_ bytes: [UInt8]) -> String {
            let digits = Array("0123456789abcdef".utf8)
            var out: [UInt8] = []
            out.reserveCapacity(bytes.count * 2)
            for b in bytes {
                out.append(digits[Int(b >> 4)])
                out.append(digits[Int(b & 15)])
            }
            return String(decoding: out, as: UTF8.self)
        }

        static func bytes(hex: some StringProtocol) -> [UInt8]? {
            let chars = Array(hex.utf8)
            guard chars.count % 2 == 0 else { return nil }
            func value(_ c: UInt8) -> UInt8? {
                switch c {
                case 0x30...0x39: return c - 0x30
                case 0x61...0x66: return c - 0x61 + 10
                default: return nil
                }
            }
            var out: [UInt8] = []
            var i = 0
            while i < chars.count {
                guard let hi = value(chars[i]), let lo = value(chars[i + 1]) else { return nil }
                out.append(hi << 4 | lo)
                i += 2
            }
            return out
        }
    }

    /// Why there is no journal for a mailbox (logged once by the caller).
    enum Unavailable: Error, Equatable {
        case cannotCreate(errno: Int32)
        case unsafe(String)
    }

    let fd: Int32
    let name: String

    /// The journal's name for a mailbox file name.
    static func name(forMailbox mailbox: String) -> String { "." + mailbox + ".postern-journal" }

    /// Opens (creating if needed) the journal of the mailbox `mailbox` in
    /// `directory`, refusing anything but a regular file of `owner` with one
    /// link, never following a link; cut down first when it has grown.
    static func open(in directory: Int32, mailbox: String, owner: uid_t) -> Result<MboxJournal, Unavailable> {
        let name = Self.name(forMailbox: mailbox)
        for _ in 0..<3 {
            let flags = O_RDWR | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY
            let fd = openat(directory, name, flags, 0o600)
            guard fd >= 0 else {
                let e = errno
                if e == ELOOP { return .failure(.unsafe("\(name) is a symbolic link")) }
                return .failure(.cannotCreate(errno: e))
            }
            var st = stat()
            guard fstat(fd, &st) == 0 else {
                let e = errno
                MboxSystem.close(fd)
                return .failure(.cannotCreate(errno: e))
            }
            guard st.st_mode & S_IFMT == S_IFREG, st.st_nlink == 1, st.st_uid == owner else {
                MboxSystem.close(fd)
                return .failure(.unsafe("\(name) is not a regular file of uid \(owner) with one link"))
            }
            let journal = MboxJournal(fd: fd, name: name)
            // Cut down, then opened again; if it cannot be cut down it
            // grows, which costs reading time, not correctness.
            guard st.st_size > compactAt, journal.compact(in: directory) else { return .success(journal) }
            MboxSystem.close(fd)
        }
        return .failure(.unsafe("\(name) kept growing while it was cut down"))
    }

    func close() { MboxSystem.close(fd) }

    /// The newest complete line (a line is at most about 250 bytes).
    func last() -> Entry? {
        entries(tail: 1024).last
    }

    /// The newest line for `id`.
    func find(_ id: String) -> Entry? {
        entries(tail: Self.readLimit).last { $0.id == id }
    }

    /// Appends `entry`'s line. A line left unfinished by a killed writer is
    /// ended first, so the new one starts on a line of its own.
    func record(_ entry: Entry) -> Int32? {
        var text = Array((entry.line + "\n").utf8)
        var st = stat()
        if fstat(fd, &st) == 0, st.st_size > 0 {
            var lastByte = [UInt8](repeating: 0, count: 1)
            if case .success(1) = MboxSystem.pread(fd, into: &lastByte, count: 1, at: st.st_size - 1),
                lastByte[0] != 0x0A
            {
                text.insert(0x0A, at: 0)
            }
        }
        return MboxSystem.writeAll(fd, text)
    }

    /// The complete, well-formed lines among the last `tail` bytes.
    private func entries(tail: Int) -> [Entry] {
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_size > 0 else { return [] }
        let start = max(0, st.st_size - off_t(tail))
        var buffer = [UInt8](repeating: 0, count: Int(st.st_size - start))
        guard case .success(let n) = MboxSystem.pread(fd, into: &buffer, count: buffer.count, at: start) else {
            return []
        }
        var lines = buffer[0..<n].split(separator: 0x0A, omittingEmptySubsequences: false)
        // The last piece is unfinished (or empty after the final LF); the
        // first may be cut by `tail`.
        lines.removeLast()
        if start > 0, !lines.isEmpty { lines.removeFirst() }
        return lines.compactMap { Entry(line: String(decoding: $0, as: UTF8.self)) }
    }

    /// Keeps the newest `keep` bytes of whole lines: written to a temporary
    /// file and renamed over the journal, so a crash leaves the old or the
    /// new one, never half of either.
    private func compact(in directory: Int32) -> Bool {
        var st = stat()
        guard fstat(fd, &st) == 0 else { return false }
        let start = max(0, st.st_size - off_t(Self.keep))
        var buffer = [UInt8](repeating: 0, count: Int(st.st_size - start))
        guard case .success(let n) = MboxSystem.pread(fd, into: &buffer, count: buffer.count, at: start) else {
            return false
        }
        var kept = buffer[0..<n]
        if let firstLF = kept.firstIndex(of: 0x0A) { kept = kept[(firstLF + 1)...] }
        let temporary = name + ".new"
        unlinkat(directory, temporary, 0)
        let out = openat(
            directory, temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0o600)
        guard out >= 0 else { return false }
        let failed = MboxSystem.writeAll(out, Array(kept)) != nil
        MboxSystem.close(out)
        if failed || renameat(directory, temporary, directory, name) != 0 {
            unlinkat(directory, temporary, 0)
            return false
        }
        return true
    }
}

/// A delivery's stable name: the queue id and the recipient's index in
/// the message, `0123456789AB.3`. The same on every attempt, so a repeat
/// can be recognised — by the journal, by a Maildir file name, by a pipe
/// program that reads `DELIVERY_ID`.
enum DeliveryID {
    static func text(queueID: String, index: UInt32) -> String { "\(queueID).\(index)" }

    static func isValid(_ text: some StringProtocol) -> Bool {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].utf8.count == 12, !parts[1].isEmpty, parts[1].utf8.count <= 10 else {
            return false
        }
        return parts[0].utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) }
            && parts[1].utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
    }
}
