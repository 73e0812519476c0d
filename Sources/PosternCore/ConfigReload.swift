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

/// What a reload makes of a freshly loaded configuration.
public struct ConfigReload: Sendable {
    /// The configuration to run with and hand to the children.
    public var config: PosternConfig
    /// One line per kind of change that needs a restart, for the log.
    public var restartWarnings: [String]
    /// The options whose change waits for a restart, by name.
    public var restartOptions: [String] = []
    /// Every option whose value changed, by name (restart-only ones too).
    public var changedOptions: [String] = []
}

extension PosternConfig {
    /// The fresh configuration as a reload applies it to this running one:
    /// the options marked restart-only in the table are compared, a warning
    /// is given for each reason one changed, and those whose running value
    /// must stay (Listen) are put back.
    public func reloaded(from fresh: PosternConfig) -> ConfigReload {
        let waiting = ConfigOption.allCases.filter { $0.restart != nil && !$0.sameValue(self, fresh) }
        let warnings = ConfigRestart.allCases.filter { reason in waiting.contains { $0.restart == reason } }
        var applied = fresh
        for option in ConfigOption.allCases where option.restart?.keepsRunningValue == true {
            option.copyValue(self, &applied)
        }
        return ConfigReload(
            config: applied, restartWarnings: warnings.map(\.warning), restartOptions: waiting.map(\.rawValue),
            changedOptions: ConfigOption.allCases.filter { !$0.sameValue(self, fresh) }.map(\.rawValue))
    }
}
