import PosternAliases

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
    /// The aliases map: its names are local recipients too.
    public var aliases: AliasTable
    /// Virtual domains and their addresses; its domains count as local.
    public var virtusertable: Virtusertable
    /// Routes for remote domains; its `error:` and `local:` entries are
    /// applied at RCPT.
    public var mailertable: Mailertable

    public init(
        localDomains: Set<String> = [], users: Set<String> = [], access: AccessMap = AccessMap(),
        hostAddresses: [String] = [], aliases: AliasTable = AliasTable(),
        virtusertable: Virtusertable = Virtusertable(),
        mailertable: Mailertable = Mailertable()
    ) {
        self.localDomains = localDomains
        self.users = users
        self.access = access
        self.hostAddresses = hostAddresses
        self.aliases = aliases
        self.virtusertable = virtusertable
        self.mailertable = mailertable
    }
}
