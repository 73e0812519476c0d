import PosternCore

/// Where each kind of message may travel, and what it carries besides its
/// payload: one row per kind. The channel refuses a frame that arrives on
/// an edge its kind does not travel, as a protocol violation, so a peer
/// cannot reach code that was never meant to answer it (the queue's
/// control socket for the listener, a delivery order for the lookup).
/// Requests and their answers are listed in the direction each travels.
extension IPCMessage.Kind {
    public struct Spec: Sendable {
        /// Descriptors a frame of this kind carries (SCM_RIGHTS).
        public let descriptors: Int
        /// (from, to) pairs of roles.
        public let routes: [(Role, Role)]
    }

    private static let children: [Role] = [.listener, .lookup, .queue, .local, .relay, .submit]
    private static func fromMaster(_ to: [Role] = children) -> [(Role, Role)] { to.map { (.master, $0) } }
    private static func toMaster() -> [(Role, Role)] { children.map { ($0, .master) } }
    /// The lookup's answers to the processes that ask it.
    private static let fromLookup: [(Role, Role)] = [
        (.lookup, .listener), (.lookup, .queue), (.lookup, .relay), (.lookup, .submit),
    ]
    /// The processes that bring new messages to the queue: the listener
    /// (SMTP) and submit (the sendmail command), each on its own edge.
    private static let toQueue: [(Role, Role)] = [(.listener, .queue), (.submit, .queue)]
    private static let fromQueue: [(Role, Role)] = [(.queue, .listener), (.queue, .submit)]

    public var spec: Spec {
        switch self {
        // The master channel.
        case .configure, .reload, .shutdown, .ping: return Spec(descriptors: 0, routes: Self.fromMaster())
        case .attachPeer, .reopenLog: return Spec(descriptors: 1, routes: Self.fromMaster())
        case .listenSocket: return Spec(descriptors: 1, routes: Self.fromMaster([.listener]))
        case .controlSocket: return Spec(descriptors: 1, routes: Self.fromMaster([.queue]))
        case .userDatabase: return Spec(descriptors: 1, routes: Self.fromMaster([.lookup, .submit]))
        case .submitSocket: return Spec(descriptors: 1, routes: Self.fromMaster([.submit]))
        case .ready, .peerViolation, .pong: return Spec(descriptors: 0, routes: Self.toMaster())
        // Policy: the listener (and the queue, for recipients an alias or
        // a notice names) asks the lookup.
        case .checkClient, .checkSender, .authMechanisms, .authStart, .authStep, .authAbort:
            return Spec(descriptors: 0, routes: [(.listener, .lookup)])
        case .checkRecipient:
            return Spec(descriptors: 0, routes: [(.listener, .lookup), (.queue, .lookup), (.submit, .lookup)])
        case .clientVerdict, .mechanisms, .authChallenge, .authSucceeded:
            return Spec(descriptors: 0, routes: [(.lookup, .listener)])
        case .accepted, .discarded, .recipientAccepted, .recipientRemote:
            return Spec(descriptors: 0, routes: [(.lookup, .listener), (.lookup, .queue), (.lookup, .submit)])
        case .rejected:
            return Spec(
                descriptors: 0,
                routes: Self.fromLookup + Self.fromQueue + [(.local, .queue), (.relay, .queue)])
        // The spool.
        case .openMessage, .commitMessage, .abortMessage: return Spec(descriptors: 0, routes: Self.toQueue)
        case .messageOpened: return Spec(descriptors: 1, routes: Self.fromQueue)
        case .committed, .spoolSpace: return Spec(descriptors: 0, routes: Self.fromQueue)
        // Delivery.
        case .deliver:
            return Spec(descriptors: 1, routes: [(.queue, .local), (.queue, .relay), (.local, .localWorker)])
        case .deliveryResult:
            return Spec(descriptors: 0, routes: [(.local, .queue), (.relay, .queue), (.localWorker, .local)])
        case .assignWorker: return Spec(descriptors: 0, routes: [(.local, .localWorker)])
        case .routeRequest: return Spec(descriptors: 0, routes: [(.relay, .lookup)])
        case .route: return Spec(descriptors: 0, routes: [(.lookup, .relay)])
        case .explainAddress: return Spec(descriptors: 0, routes: [(.submit, .lookup)])
        case .addressExplanation: return Spec(descriptors: 0, routes: [(.lookup, .submit)])
        }
    }

    public var descriptorCount: Int { spec.descriptors }

    public func travels(from: Role, to: Role) -> Bool {
        spec.routes.contains { $0.0 == from && $0.1 == to }
    }
}
