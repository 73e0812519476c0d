/// What one process role may touch, declared once, at the top of the role's
/// own file (`ListenerRole.manifest`, `QueueRole.manifest`, …), as
/// OpenSMTPD states each process's user, root and peers in one place. The
/// master spawns, hands over and connects by it; the child drops its
/// privileges and accepts its peers by it; `postern check` prints it.
public struct RoleManifest: Sendable, Equatable {
    /// Who the process runs as after its privilege drop.
    public enum Identity: Sendable, Equatable {
        /// A Postern system user (setup-jail creates them).
        case systemUser(String)
        /// Stays uid 0 with only `capabilities` (the local process: it must
        /// become each recipient).
        case root
        /// The recipient user of the mail it delivers (a delivery worker).
        case recipient
    }

    /// Its root directory after the drop, from the configuration.
    public enum RootDirectory: String, Sendable, Equatable {
        case emptyDirectory = "EmptyDirectory"
        case configDirectory = "ConfigDirectory"
        case queueDirectory = "QueueDirectory"
        case dropDirectory = "DropDirectory"
        /// No chroot: the process keeps `/`.
        case none = "/"

        public func path(in config: PosternConfig) -> String? {
            switch self {
            case .emptyDirectory: return config.emptyDirectory
            case .configDirectory: return config.configDirectory
            case .queueDirectory: return config.queueDirectory
            case .dropDirectory: return config.dropDirectory
            case .none: return nil
            }
        }
    }

    /// What the master passes a new child besides its configuration and
    /// its peers' channels, each as a descriptor on the master channel.
    public enum Handover: String, Sendable, Equatable {
        /// The listening sockets the master bound (the listener).
        case listeningSockets = "the listening sockets"
        /// /etc/passwd, opened anew at each start and reload (the lookup).
        case userDatabase = "/etc/passwd"
        /// queue.sock and mailq.sock in RunDirectory (the queue).
        case controlSockets = "the queue control sockets"
        /// submit.sock in RunDirectory, which everyone may connect to (submit).
        case submitSocket = "the submission socket"
    }

    public let role: Role
    public let identity: Identity
    public let root: RootDirectory
    /// Kept in the permitted, effective and bounding sets; none for a
    /// process that runs as a system user.
    public let capabilities: [Capability]
    /// The roles it shares a socketpair with. An edge exists when both
    /// sides name each other (`RoleManifests.edges`).
    public let peers: [Role]
    public let handedOver: [Handover]
    /// One line: what it is for.
    public let job: String

    public init(
        role: Role, identity: Identity, root: RootDirectory, capabilities: [Capability] = [], peers: [Role],
        handedOver: [Handover] = [], job: String
    ) {
        self.role = role
        self.identity = identity
        self.root = root
        self.capabilities = capabilities
        self.peers = peers
        self.handedOver = handedOver
        self.job = job
    }

    public var systemUser: String? {
        if case .systemUser(let name) = identity { return name }
        return nil
    }

    /// The manifest as `postern check` prints it, for `config`'s paths.
    public func describe(in config: PosternConfig) -> String {
        let user: String
        switch identity {
        case .systemUser(let name): user = name
        case .root: user = "root"
        case .recipient: user = "the recipient"
        }
        let rootText = root.path(in: config).map { "\($0) (\(root.rawValue))" } ?? "/"
        let caps = capabilities.isEmpty ? "none" : capabilities.map(\.rawValue).joined(separator: " ")
        var text = "\(role.rawValue): user \(user), root \(rootText), capabilities \(caps)"
        text += ", peers " + (peers.isEmpty ? "none" : peers.map(\.rawValue).joined(separator: " "))
        if !handedOver.isEmpty { text += ", given " + handedOver.map(\.rawValue).joined(separator: ", ") }
        return text + "; " + job
    }
}

/// The Linux capabilities a role may keep (only `local` keeps any).
public enum Capability: String, Sendable, CaseIterable {
    case setuid = "SETUID"
    case setgid = "SETGID"
    case sysChroot = "SYS_CHROOT"
    case dacReadSearch = "DAC_READ_SEARCH"
    case chown = "CHOWN"
}

/// The manifests of a running Postern, and what follows from them.
public enum RoleManifests {
    /// The socketpairs between children: every pair of roles that name
    /// each other as peers, each once, in the order of `manifests`.
    public static func edges(_ manifests: [RoleManifest]) -> [(Role, Role)] {
        var out: [(Role, Role)] = []
        for (i, a) in manifests.enumerated() {
            for b in manifests[(i + 1)...] where a.peers.contains(b.role) && b.peers.contains(a.role) {
                out.append((a.role, b.role))
            }
        }
        return out
    }

    /// Peers named on one side only, or not among `manifests`: a mistake
    /// in a declaration, found before anything is spawned.
    public static func inconsistencies(_ manifests: [RoleManifest]) -> [String] {
        var problems: [String] = []
        let byRole = Dictionary(manifests.map { ($0.role, $0) }, uniquingKeysWith: { a, _ in a })
        if byRole.count != manifests.count { problems.append("a role is declared twice") }
        for m in manifests {
            for peer in m.peers {
                guard let other = byRole[peer] else {
                    problems.append("\(m.role.rawValue) names \(peer.rawValue), which is not spawned")
                    continue
                }
                if !other.peers.contains(m.role) {
                    problems.append("\(m.role.rawValue) names \(peer.rawValue) as a peer, but not the other way")
                }
            }
        }
        return problems
    }
}
