import PosternCore
import PosternIPC

/// The Cyrus SASL options the lookup answers through its SASL_CB_GETOPT
/// callback, so that no /etc/sasl2 file is ever read: everything SASL does
/// follows from postern.conf. Paths are as the lookup sees them after its
/// chroot into the configuration directory.
struct SASLSettings: Equatable, Sendable {
    /// The host name Cyrus uses as the server's FQDN and default realm.
    var hostname: String
    /// Mechanisms in the administrator's order.
    var mechanisms: [String]
    var passwordCheck: SASLPasswordCheck
    /// The sasldb file, as opened from inside the lookup's root.
    var sasldbPath: String
    /// The saslauthd socket, as reached from inside the lookup's root.
    var saslauthdPath: String

    /// Mechanisms that are never offered: ANONYMOUS needs no password at
    /// all and EXTERNAL would trust whatever the TLS layer claimed.
    static let forbiddenMechanisms: Set<String> = ["ANONYMOUS", "EXTERNAL"]

    /// The mechanisms that hand the server the password itself: the only
    /// ones saslauthd can check.
    static let plaintextMechanisms: Set<String> = ["PLAIN", "LOGIN"]

    /// From the configuration. `root` is the directory the lookup chroots
    /// into (nil: no chroot, as in tests): it is taken off the front of the
    /// configured paths, which the config loader guarantees lie inside it.
    init(config: PosternConfig, root: String?) {
        self.init(
            hostname: config.myHostname, mechanisms: config.security.authMechanisms,
            passwordCheck: config.security.saslPasswordCheck,
            sasldbPath: Self.inside(root, config.security.saslDbFile),
            saslauthdPath: Self.inside(root, config.security.saslauthdSocket))
    }

    init(
        hostname: String, mechanisms: [String], passwordCheck: SASLPasswordCheck, sasldbPath: String,
        saslauthdPath: String
    ) {
        self.hostname = hostname
        self.mechanisms = mechanisms.filter { SASLMechanismNameCheck.isOfferable($0) }
        self.passwordCheck = passwordCheck
        self.sasldbPath = sasldbPath
        self.saslauthdPath = saslauthdPath
    }

    /// The value Cyrus gets for one option; nil leaves Cyrus's default.
    func option(_ name: String) -> String? {
        switch name {
        case "pwcheck_method": return passwordCheck.rawValue
        case "auxprop_plugin": return "sasldb"
        case "sasldb_path": return sasldbPath
        case "saslauthd_path": return saslauthdPath
        case "mech_list": return mechanisms.joined(separator: " ")
        // Cyrus logs failures itself at this level; passwords never (7).
        case "log_level": return "2"
        default: return nil
        }
    }

    /// `path` as seen from inside `root`: "/etc/postern/sasldb2" with root
    /// "/etc/postern" is "/sasldb2".
    static func inside(_ root: String?, _ path: String) -> String {
        guard let root else { return path }
        let prefix = root.hasSuffix("/") ? String(root.dropLast()) : root
        guard !prefix.isEmpty, path.hasPrefix(prefix + "/") else { return path }
        return String(path.dropFirst(prefix.count))
    }
}

/// Which configured names may be handed to Cyrus at all.
enum SASLMechanismNameCheck {
    static func isOfferable(_ name: String) -> Bool {
        SASLMechanismName.isValid(name) && !SASLSettings.forbiddenMechanisms.contains(name)
    }
}
