/// Why a changed option waits for a restart (a row's `restart`). The
/// master warns once per reason, in this order, when a reload meets such a
/// change.
enum ConfigRestart: CaseIterable, Sendable {
    /// The master binds the sockets once, at start.
    case listen
    /// The certificate, key and SASL setup were loaded before the children
    /// dropped privileges; they cannot reopen them now.
    case tlsAndSASL

    var warning: String {
        switch self {
        case .listen: return "Listen changes take effect at the next restart"
        case .tlsAndSASL: return "TLS and SASL file and cipher changes take effect at the next restart"
        }
    }

    /// Whether the running value stays in the configuration the master
    /// keeps: its sockets stay what they are, and the config must say so.
    /// The TLS and SASL values are handed on (a child restarted later loads
    /// them).
    var keepsRunningValue: Bool { self == .listen }
}
