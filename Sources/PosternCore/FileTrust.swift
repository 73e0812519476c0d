/// What the daemon trusts a file for, and what its owner and mode must be
/// for that trust to be deserved: `postern check` audits every such file
/// (the configuration, the maps, `:include:` files, secrets, smrsh, the
/// SafeFileEnvironment) with these rules. A pure function of the stat
/// values, so each rule is tested by itself.
public enum FileTrust: Sendable, Equatable {
    /// Decides the mail policy (postern.conf, the maps, the aliases and
    /// their `:include:` files, the configuration directory): root's, and
    /// writable by nobody else.
    case policy
    /// A secret (the sasldb, the TLS key): readable by nobody but its owner
    /// and group, and writable by nobody else.
    case secret
    /// A program pipes may run, or the directory that holds them: root's,
    /// and writable by nobody else.
    case program
    /// A root every file delivery is confined to: root's, and writable by
    /// nobody else (a user who could write it could plant links).
    case jail

    /// The problems of a file with this owner and mode; empty when none.
    public func problems(path: String, uid: UInt32, mode: UInt32) -> [String] {
        let permissions = mode & 0o7777
        let octal = "0" + String(permissions, radix: 8)
        var found: [String] = []
        if uid != 0 && self != .secret {
            found.append("\(path): owned by uid \(uid), not root: \(consequence)")
        }
        if permissions & 0o022 != 0 {
            found.append("\(path): writable by group or others (mode \(octal)): \(consequence)")
        }
        if self == .secret && permissions & 0o004 != 0 {
            found.append("\(path): readable by others (mode \(octal)): every local user can read the secret")
        }
        return found
    }

    private var consequence: String {
        switch self {
        case .policy: return "whoever can write it decides where mail goes"
        case .secret: return "whoever can write it can replace the secret"
        case .program: return "whoever can write it chooses what pipe deliveries run"
        case .jail: return "whoever can write it can redirect file deliveries"
        }
    }
}
