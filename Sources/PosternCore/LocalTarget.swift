/// How a local recipient is delivered. A recipient accepted at RCPT is a
/// name to resolve; local delivery may turn it into others (an alias's
/// members, a `.forward`'s entries), which the queue adds to the message
/// with the target that says how far they are resolved, so nothing is
/// expanded twice and a `\user` reaches the mailbox without further ado.
public enum LocalTarget: Hashable, Sendable {
    /// A local name as the client gave it: aliases, then the user's
    /// `.forward`, then the mailbox.
    case name
    /// A user an alias resolved to: the `.forward`, then the mailbox.
    case user
    /// The mailbox only (`\user`, or a `.forward` that names its own user).
    case mailbox
    /// A `|command` for smrsh, run as the recipient's `localUser`.
    case pipe(String)
    /// An absolute path: a file in the SafeFileEnvironment, or a Maildir
    /// when it ends in `/`; written as the recipient's `localUser`.
    case file(String)

    /// The control-file and IPC spelling: "" for `name`, so that messages
    /// queued before targets existed read back unchanged.
    public var text: String {
        switch self {
        case .name: return ""
        case .user: return "user"
        case .mailbox: return "mailbox"
        case .pipe(let command): return "|" + command
        case .file(let path): return path
        }
    }

    /// nil for a spelling no version wrote.
    public init?(text: String) {
        switch text.first {
        case nil: self = .name
        case "|": self = .pipe(String(text.dropFirst()))
        case "/": self = .file(text)
        default:
            switch text {
            case "user": self = .user
            case "mailbox": self = .mailbox
            default: return nil
            }
        }
    }
}
