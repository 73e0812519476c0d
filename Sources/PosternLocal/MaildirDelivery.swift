#if canImport(Glibc)
    import Glibc
#endif

/// Delivers into a Maildir under the recipient's home (`HomeMailbox`), as
/// the worker that already runs as the recipient: the message goes into
/// `tmp/` under a unique name, is fsynced, then linked into `new/` and the
/// directory fsynced (the Maildir protocol: a reader never sees half a
/// message, and no lock is needed).
///
/// The home itself may be reached through a symbolic link (/home on another
/// disk is common), but nothing below it is: every Maildir component is
/// opened with O_NOFOLLOW and must be a directory owned by the recipient
/// and writable by nobody else, so a planted link cannot send the message
/// into someone else's tree. Errors reuse `MboxError`, whose cases mean the
/// same thing for the queue: nothing was delivered.
public enum MaildirDelivery {
    /// Makes names unique within this worker process.
    nonisolated(unsafe) private static var counter = 0

    /// - Parameters:
    ///   - home: the recipient's home directory (absolute).
    ///   - maildir: the Maildir below it, e.g. "Maildir/".
    ///   - messageFD: the spooled message, read with pread from offset 0;
    ///     its CR LF line ends become LF, as Maildir readers expect.
    /// - Returns: the bytes written.
    public static func deliver(
        home: String, maildir: String, messageFD: Int32, expectedOwner: uid_t, extraHeaders: [String]
    ) throws(MboxError) -> Int {
        try deliver(
            home: home, maildir: maildir, messageFD: messageFD, expectedOwner: expectedOwner,
            extraHeaders: extraHeaders, once: nil
        ).bytes
    }

    /// As above; with `once` the file name is the delivery's own
    /// (`ARRIVAL.QUEUEID_N.HOST`), the same on every attempt, so a repeat
    /// finds its file already in `new/` (the link fails with EEXIST) and,
    /// when it may have been delivered before, also in `cur/`, where a
    /// reader may have moved it, whatever flags it was given since.
    public static func deliver(
        home: String, maildir: String, messageFD: Int32, expectedOwner: uid_t, extraHeaders: [String],
        once: MaildirOnce?
    ) throws(MboxError) -> MboxDeliveryReport {
        guard home.hasPrefix("/") else { throw .invalidArgument(reason: "home \(home) is not absolute") }
        for header in extraHeaders where header.utf8.contains(where: { $0 == 0x0A || $0 == 0x0D }) {
            throw .invalidArgument(reason: "header with a line break")
        }
        var directory = open(home, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard directory >= 0 else { throw .io(operation: "open \(home)", errno: errno) }
        defer { close(directory) }
        for component in maildir.split(separator: "/") {
            let next = try openOwnedDirectory(String(component), in: directory, owner: expectedOwner)
            close(directory)
            directory = next
        }
        let tmp = try openOwnedDirectory("tmp", in: directory, owner: expectedOwner)
        defer { close(tmp) }
        let new = try openOwnedDirectory("new", in: directory, owner: expectedOwner)
        defer { close(new) }
        let cur = try openOwnedDirectory("cur", in: directory, owner: expectedOwner)
        defer { close(cur) }

        var report = MboxDeliveryReport()
        let name: String
        if let once {
            if once.maybeDelivered, let found = try findDelivered(once.stem, in: [(new, "new"), (cur, "cur")]) {
                report.alreadyDelivered = true
                report.notes.append("found as \(found)")
                return report
            }
            name = once.stem + "." + hostName()
            // Left by an attempt killed before its link: ours to replace.
            unlinkat(tmp, name, 0)
        } else {
            name = uniqueName()
        }
        let file = openat(tmp, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard file >= 0 else { throw .io(operation: "create tmp/\(name)", errno: errno) }
        do throws(MboxError) {
            defer { close(file) }
            report.bytes = try copy(messageFD, to: file, headers: extraHeaders)
            guard fsync(file) == 0 else { throw .io(operation: "fsync tmp/\(name)", errno: errno) }
        } catch {
            unlinkat(tmp, name, 0)
            throw error
        }
        guard linkat(tmp, name, new, name, 0) == 0 else {
            let e = errno
            unlinkat(tmp, name, 0)
            if e == EEXIST, once != nil {
                // An earlier attempt linked it: that copy is the delivery.
                report.alreadyDelivered = true
                report.notes.append("found as new/\(name)")
                return report
            }
            throw .io(operation: "link new/\(name)", errno: e)
        }
        unlinkat(tmp, name, 0)
        guard fsync(new) == 0 else { throw .io(operation: "fsync new/", errno: errno) }
        return report
    }

    /// A file of this delivery in one of `directories`: its name is the
    /// stem, a dot and a host name, then perhaps `:2,FLAGS` a reader added.
    private static func findDelivered(_ stem: String, in directories: [(Int32, String)]) throws(MboxError) -> String? {
        let prefix = Array((stem + ".").utf8)
        for (fd, label) in directories {
            let dup = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            guard dup >= 0 else { throw .io(operation: "read \(label)/", errno: errno) }
            guard let stream = fdopendir(dup) else {
                let e = errno
                close(dup)
                throw .io(operation: "read \(label)/", errno: e)
            }
            defer { closedir(stream) }
            while let entry = readdir(stream) {
                let found = withUnsafeBytes(of: entry.pointee.d_name) { raw -> String? in
                    let bytes = raw.prefix { $0 != 0 }
                    guard bytes.starts(with: prefix) else { return nil }
                    return String(decoding: bytes, as: UTF8.self)
                }
                if let found { return "\(label)/\(found)" }
            }
        }
        return nil
    }

    /// Creates the directory if it is missing (mode 0700), then opens it
    /// without following a link and checks who owns it.
    private static func openOwnedDirectory(_ name: String, in parent: Int32, owner: uid_t) throws(MboxError) -> Int32 {
        guard name != "..", name != ".", !name.isEmpty else {
            throw .invalidArgument(reason: "Maildir component \(name)")
        }
        if mkdirat(parent, name, 0o700) != 0 && errno != EEXIST {
            throw .io(operation: "mkdir \(name)", errno: errno)
        }
        let fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ELOOP || errno == ENOTDIR {
                throw .unsafeMailbox(reason: "\(name) in the Maildir is not a directory (a symbolic link?)")
            }
            throw .io(operation: "open \(name)", errno: errno)
        }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let e = errno
            close(fd)
            throw .io(operation: "fstat \(name)", errno: e)
        }
        guard info.st_uid == owner else {
            close(fd)
            throw .unsafeMailbox(reason: "\(name) in the Maildir belongs to uid \(info.st_uid), not \(owner)")
        }
        guard info.st_mode & 0o022 == 0 else {
            close(fd)
            throw .unsafeMailbox(reason: "\(name) in the Maildir is writable by group or others")
        }
        return fd
    }

    /// time.MusecPpidQn.host, as the Maildir specification suggests; "/" and
    /// ":" in the host name are written octal, as it asks.
    private static func uniqueName() -> String {
        var now = timeval()
        gettimeofday(&now, nil)
        counter += 1
        return "\(now.tv_sec).M\(now.tv_usec)P\(getpid())Q\(counter).\(hostName())"
    }

    /// The host name, "/" and ":" written octal as the specification asks.
    private static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        gethostname(&buffer, buffer.count - 1)
        let rawHost = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        var host = ""
        for scalar in rawHost.unicodeScalars {
            switch scalar {
            case "/": host += "\\057"
            case ":": host += "\\072"
            default: host.unicodeScalars.append(scalar)
            }
        }
        return host.isEmpty ? "localhost" : host
    }

    /// The headers, then the message with CR LF made LF.
    private static func copy(_ source: Int32, to file: Int32, headers: [String]) throws(MboxError) -> Int {
        var total = 0
        func put(_ bytes: [UInt8]) throws(MboxError) {
            var offset = 0
            while offset < bytes.count {
                let n = bytes[offset...].withUnsafeBytes { write(file, $0.baseAddress, $0.count) }
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { throw .io(operation: "write", errno: errno) }
                offset += n
            }
            total += bytes.count
        }
        try put(Array(headers.map { $0 + "\n" }.joined().utf8))
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        var position: off_t = 0
        var heldCR = false
        while true {
            let n = chunk.withUnsafeMutableBytes { pread(source, $0.baseAddress, $0.count, position) }
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else { throw .io(operation: "read message", errno: errno) }
            if n == 0 { break }
            position += off_t(n)
            var out: [UInt8] = []
            out.reserveCapacity(n + 1)
            for byte in chunk[0..<n] {
                if heldCR {
                    heldCR = false
                    if byte != 0x0A { out.append(0x0D) }
                }
                if byte == 0x0D {
                    heldCR = true
                } else {
                    out.append(byte)
                }
            }
            try put(out)
        }
        if heldCR { try put([0x0D]) }
        return total
    }
}

/// Asks a Maildir delivery to happen once.
public struct MaildirOnce: Equatable, Sendable {
    /// `ARRIVAL.QUEUEID_N`: the file name without its host part, the same
    /// on every attempt (and on another host name).
    public var stem: String
    public var maybeDelivered: Bool

    public init(arrival: Int64, deliveryID: String, maybeDelivered: Bool) {
        stem = "\(arrival)." + String(deliveryID.map { $0 == "." ? "_" : $0 })
        self.maybeDelivered = maybeDelivered
    }
}
