#if canImport(Glibc)
    import Glibc
#endif

/// Why a delivery to a file in the SafeFileEnvironment did not happen.
///
/// As with `MboxError`, every case means nothing was appended (a failed
/// append is cut back off). The cases split along what the queue must do:
/// `invalidPath`, `refused` and `invalidArgument` are permanent (the alias or
/// the file system has to change; retrying cannot help), `lockTimeout` and
/// `io` are transient.
public enum SafeFileError: Error, Equatable, Sendable {
    /// The target path is not acceptable as written: relative, `..`,
    /// control characters, nothing left after the jail prefix.
    case invalidPath(reason: String)
    /// What the path leads to is not allowed: a symbolic link anywhere, a
    /// missing directory, something not a regular file (FIFO, device,
    /// directory), a hard-linked, setuid/setgid or executable file, or a
    /// directory the user may not search.
    case refused(reason: String)
    /// Another process held the fcntl lock for longer than the lock timeout.
    case lockTimeout
    /// A system call failed; `operation` says which step, `errno` why.
    case io(operation: String, errno: Int32)
    /// Our own caller passed something unwritable (a malformed extra header,
    /// an arrival time that is no date).
    case invalidArgument(reason: String)

    /// True when a retry cannot succeed: bounce instead.
    public var isPermanent: Bool {
        switch self {
        case .invalidPath, .refused, .invalidArgument: return true
        case .lockTimeout, .io: return false
        }
    }

    /// RFC 3463 code for the DSN: bad address syntax for a path that cannot
    /// name a file, "delivery not authorized" for a refused file, mailbox
    /// busy or full, or a local system error.
    public var enhancedStatus: String {
        switch self {
        case .invalidPath: return "5.1.3"
        case .refused: return "5.7.1"
        case .invalidArgument: return "5.3.0"
        case .lockTimeout: return "4.2.1"
        case .io(_, let errno) where errno == ENOSPC: return "4.3.1"
        case .io(_, let errno) where errno == EDQUOT: return "4.2.2"
        case .io: return "4.3.0"
        }
    }

    /// Mbox writing is reused from `MboxDelivery`; its errors say the same
    /// things here.
    init(_ error: MboxError) {
        switch error {
        case .unsafeMailbox(let reason): self = .refused(reason: reason)
        case .lockTimeout: self = .lockTimeout
        case .io(let operation, let errno): self = .io(operation: operation, errno: errno)
        case .invalidArgument(let reason): self = .invalidArgument(reason: reason)
        }
    }
}

extension SafeFileError {
    /// Runs a step of the reused mbox code, translating its error.
    static func mapping<Value>(_ step: () throws(MboxError) -> Value) throws(SafeFileError) -> Value {
        do {
            return try step()
        } catch {
            throw SafeFileError(error)
        }
    }
}
