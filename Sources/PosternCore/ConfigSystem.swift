#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The few system calls the configuration loader makes: stat for the paths,
/// gethostname for the default MyHostname, getgrnam_r for MailGroup, and
/// open/read for the file. Kept apart so the parser proper stays pure.
enum ConfigSystem {
    /// The largest configuration file read. A real one is a few kilobytes;
    /// the bound keeps a mistaken path (a log, /dev/zero) from eating memory.
    static let maxFileSize = 1 << 20

    enum FileReadError: Error, Equatable {
        case system(String)
        case tooLarge
    }

    static func errorText(_ code: Int32) -> String {
        guard let message = strerror(code) else { return "error \(code)" }
        return String(cString: message)
    }

    /// nil when the path is an existing directory; otherwise why not, in the
    /// words the error messages use.
    static func directoryProblem(_ path: String) -> String? {
        var info = stat()
        if stat(path, &info) != 0 {
            let code = errno
            return code == ENOENT ? "no such directory" : errorText(code)
        }
        return (info.st_mode & S_IFMT) == S_IFDIR ? nil : "not a directory"
    }

    /// nil when a file may be created at the path: its parent is an existing
    /// directory and the path itself is not a directory.
    static func logFileProblem(_ path: String) -> String? {
        let parent: String
        if let slash = path.utf8.lastIndex(of: UInt8(ascii: "/")), slash != path.utf8.startIndex {
            parent = String(path[..<slash])
        } else {
            parent = "/"
        }
        if let problem = directoryProblem(parent) {
            return "directory \(parent): \(problem)"
        }
        var info = stat()
        if stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR {
            return "is a directory"
        }
        return nil
    }

    /// The kernel's host name, or why it could not be had.
    static func systemHostName() -> Result<String, ConfigValueError> {
        var buffer = [CChar](repeating: 0, count: 256)
        let rc = buffer.withUnsafeMutableBufferPointer { out -> Int32 in
            guard let base = out.baseAddress else { return -1 }
            // One byte short of the buffer, so the name is always NUL-terminated.
            return gethostname(base, out.count - 1)
        }
        guard rc == 0 else { return .failure(ConfigValueError(errorText(errno))) }
        let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        return .success(String(decoding: bytes, as: UTF8.self))
    }

    /// nil when the group exists; otherwise why not. getgrnam_r, not
    /// getgrnam: the master may have other threads running.
    /// Why `name` is no user of the password database, or nil.
    static func userProblem(_ name: String) -> String? {
        var size = 1024
        while size <= 1 << 20 {
            var entry = passwd()
            var result: UnsafeMutablePointer<passwd>? = nil
            var buffer = [CChar](repeating: 0, count: size)
            let rc = buffer.withUnsafeMutableBufferPointer { (space) -> Int32 in
                guard let base = space.baseAddress else { return ENOMEM }
                return getpwnam_r(name, &entry, base, space.count, &result)
            }
            if rc == ERANGE { size *= 4; continue }
            if rc != 0 { return "cannot look up user \(ConfigText.quoted(name)): \(errorText(rc))" }
            guard let found = result else { return "no such user \(ConfigText.quoted(name))" }
            return found.pointee.pw_uid == 0 ? "\(ConfigText.quoted(name)) is root; pick an unprivileged user" : nil
        }
        return "cannot look up user \(ConfigText.quoted(name)): entry too large"
    }

    static func groupProblem(_ name: String) -> String? {
        var size = 1024
        while size <= 1 << 20 {
            var entry = group()
            var result: UnsafeMutablePointer<group>? = nil
            var buffer = [CChar](repeating: 0, count: size)
            let rc = buffer.withUnsafeMutableBufferPointer {
                getgrnam_r(name, &entry, $0.baseAddress, $0.count, &result)
            }
            if rc == ERANGE { size *= 4; continue }
            if rc != 0 { return "cannot look up group \(ConfigText.quoted(name)): \(errorText(rc))" }
            return result == nil ? "no such group \(ConfigText.quoted(name))" : nil
        }
        return "cannot look up group \(ConfigText.quoted(name)): entry too large"
    }

    /// The whole file, read with open/read (no stdio buffering, close-on-exec
    /// so a child spawned meanwhile does not inherit it).
    static func readFile(_ path: String) -> Result<[UInt8], FileReadError> {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return .failure(.system(errorText(errno))) }
        defer { close(fd) }
        var contents: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16384)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                return .failure(.system(errorText(errno)))
            }
            if n == 0 { break }
            contents.append(contentsOf: chunk[0..<n])
            if contents.count > maxFileSize { return .failure(.tooLarge) }
        }
        return .success(contents)
    }
}
