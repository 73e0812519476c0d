/// The process roles of a running Postern, and the fixed facts about each
/// that the master and the child agree on before any byte is exchanged.
public enum Role: String, CaseIterable, Sendable {
    case master
    case listener
    case lookup
    case queue
    case local
    case relay
    /// A per-recipient-user delivery process spawned by `local`.
    case localWorker = "local-worker"

    /// The system user a role runs as; nil for the roles that stay uid 0.
    public var systemUser: String? {
        switch self {
        case .listener: return "postern-smtpd"
        case .lookup: return "postern-lookup"
        case .queue: return "postern-queue"
        case .relay: return "postern-relay"
        case .master, .local, .localWorker: return nil
        }
    }

    /// Roles the master spawns and supervises.
    public static let supervised: [Role] = [.lookup, .queue, .local, .relay, .listener]

    /// The argument that marks a re-executed child (never typed by a user).
    public static let childArgument = "__child"
}

/// The group every Postern system user belongs to as its primary group's
/// sibling: it may read /run/postern (docs/files-and-configuration.md, "Users and groups").
public enum SystemNames {
    public static let group = "postern"
    public static let allUsers = ["postern-smtpd", "postern-lookup", "postern-queue", "postern-relay"]
}

/// The IPC edges between children: one socketpair each (docs/trust-and-ipc.md, "Edges").
public enum Edge: String, CaseIterable, Sendable {
    case listenerLookup
    case listenerQueue
    case queueLocal
    case queueRelay
    case queueLookup
    /// The relay asks the lookup for routes (mailertable, MX, TLS policy):
    /// it has no resolver and no maps in its jail.
    case relayLookup

    public var ends: (Role, Role) {
        switch self {
        case .listenerLookup: return (.listener, .lookup)
        case .listenerQueue: return (.listener, .queue)
        case .queueLocal: return (.queue, .local)
        case .queueRelay: return (.queue, .relay)
        case .queueLookup: return (.queue, .lookup)
        case .relayLookup: return (.relay, .lookup)
        }
    }

    public func touches(_ role: Role) -> Bool { ends.0 == role || ends.1 == role }

    public func peer(of role: Role) -> Role? {
        if ends.0 == role { return ends.1 }
        if ends.1 == role { return ends.0 }
        return nil
    }
}
