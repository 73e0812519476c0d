/// Everything the policy decides from, gathered by the lookup process from
/// the configuration, local-host-names, /etc/passwd and the access file.
/// A plain value: the lookup builds a new one on reload and swaps it in.
public struct PolicyTables: Sendable {
    /// Local domains (config LocalDomains ∪ local-host-names), any case;
    /// `[address]` literals count as host addresses.
    public var localDomains: Set<String>
    /// Local user names as /etc/passwd has them.
    public var users: Set<String>
    public var access: AccessMap
    /// The host's own IP addresses, as text: `user@[address]` is local only
    /// for these.
    public var hostAddresses: [String]

    public init(
        localDomains: Set<String> = [], users: Set<String> = [], access: AccessMap = AccessMap(),
        hostAddresses: [String] = []
    ) {
        self.localDomains = localDomains
        self.users = users
        self.access = access
        self.hostAddresses = hostAddresses
    }
}
