import PosternCore

/// Every message that crosses a socketpair. The raw value of `Kind` is the
/// frame's type field; each kind says how many descriptors it carries, and a
/// frame with any other number is a violation.
public enum IPCMessage: Equatable, Sendable {
    // master -> child
    case configure(text: String)
    case attachPeer(Role)
    case listenSocket(address: String)
    /// One of the queue's control sockets, and who may use it (the file
    /// system decided who can connect: the socket's mode and group).
    case controlSocket(ControlSocketAccess)
    case userDatabase
    /// submit.sock in RunDirectory (0666): the sendmail command's socket.
    case submitSocket
    /// The LogFile, opened anew after a rotation (SIGHUP, SIGUSR1): the
    /// child makes it its standard error, where its log lines go.
    case reopenLog
    case reload(text: String)
    case shutdown
    /// The master's health check: the child answers `pong` with the same
    /// number from the place that does its work (its event loops, its
    /// state queue), so a child that is stopped or stuck does not answer.
    case ping(UInt64)
    // child -> master
    case ready(Role)
    case peerViolation(Role, reason: String)
    case pong(UInt64)
    // listener -> lookup
    case checkClient(ClientContext)
    case clientVerdict(ClientVerdict)
    case checkSender(address: String, client: ClientContext)
    case accepted
    case discarded
    case checkRecipient(address: String, client: ClientContext)
    case recipientAccepted(localUser: String)
    /// A recipient elsewhere that this client may relay to, as the address
    /// to deliver to (any route through this host taken off) and its domain.
    case recipientRemote(address: String, domain: String)
    case rejected(SMTPReply)
    // listener -> lookup: SMTP AUTH. Answers: `authChallenge`,
    // `authSucceeded`, or `rejected` (535 5.7.8, 504 5.5.4, 454 4.7.0...).
    /// Which SASL mechanisms the server offers; answered by `mechanisms`.
    case authMechanisms
    case mechanisms([String])
    case authStart(AuthStart)
    /// The client's response to the last challenge, base64-decoded.
    case authStep(exchange: UInt64, response: [UInt8])
    /// The client cancelled ("*") or went away; answered by `accepted`.
    case authAbort(exchange: UInt64)
    /// The server's next challenge, to be sent base64-encoded in a 334.
    case authChallenge([UInt8])
    /// Authenticated as this (canonical) user name.
    case authSucceeded(user: String)
    // listener -> queue
    case openMessage
    case messageOpened(QueueID)
    case commitMessage(CommitRequest)
    case committed(QueueID)
    case abortMessage(QueueID)
    /// queue -> listener, when it changes noticeably: the bytes free in the
    /// spool's file system, so that MAIL is refused while they are short.
    case spoolSpace(freeBytes: UInt64)
    // queue -> local, local -> worker
    case deliver(DeliveryJob)
    case deliveryResult(QueueID, [RecipientOutcome])
    case assignWorker(WorkerIdentity)
    /// relay → lookup: the route for a destination domain.
    case routeRequest(domain: String)
    case route(RouteAnswer)
    /// submit → lookup, for `sendmail -bv`: how an address resolves.
    case explainAddress(address: String)
    /// Its answer: one line per step (local user, alias members, virtual
    /// target, route); a refused address is answered with `rejected`.
    case addressExplanation([String])

    public enum Kind: UInt16, CaseIterable, Sendable {
        case configure = 1
        case attachPeer = 2
        case listenSocket = 3
        case controlSocket = 8
        case submitSocket = 9
        case reopenLog = 13
        case userDatabase = 4
        case reload = 5
        case shutdown = 6
        case ping = 7
        case ready = 10
        case peerViolation = 11
        case pong = 12
        case checkRecipient = 20
        case recipientAccepted = 21
        case rejected = 22
        case checkClient = 23
        case clientVerdict = 24
        case checkSender = 25
        case accepted = 26
        case discarded = 27
        case recipientRemote = 28
        case authMechanisms = 50
        case mechanisms = 51
        case authStart = 52
        case authStep = 53
        case authAbort = 54
        case authChallenge = 55
        case authSucceeded = 56
        case openMessage = 30
        case messageOpened = 31
        case commitMessage = 32
        case committed = 33
        case abortMessage = 34
        case spoolSpace = 35
        case deliver = 40
        case deliveryResult = 41
        case assignWorker = 42
        case routeRequest = 60
        case route = 61
        case explainAddress = 62
        case addressExplanation = 63

    }

    public var kind: Kind {
        switch self {
        case .configure: return .configure
        case .attachPeer: return .attachPeer
        case .listenSocket: return .listenSocket
        case .controlSocket: return .controlSocket
        case .userDatabase: return .userDatabase
        case .submitSocket: return .submitSocket
        case .reopenLog: return .reopenLog
        case .reload: return .reload
        case .shutdown: return .shutdown
        case .ping: return .ping
        case .ready: return .ready
        case .peerViolation: return .peerViolation
        case .pong: return .pong
        case .checkRecipient: return .checkRecipient
        case .checkClient: return .checkClient
        case .clientVerdict: return .clientVerdict
        case .checkSender: return .checkSender
        case .accepted: return .accepted
        case .discarded: return .discarded
        case .recipientRemote: return .recipientRemote
        case .recipientAccepted: return .recipientAccepted
        case .rejected: return .rejected
        case .authMechanisms: return .authMechanisms
        case .mechanisms: return .mechanisms
        case .authStart: return .authStart
        case .authStep: return .authStep
        case .authAbort: return .authAbort
        case .authChallenge: return .authChallenge
        case .authSucceeded: return .authSucceeded
        case .openMessage: return .openMessage
        case .messageOpened: return .messageOpened
        case .commitMessage: return .commitMessage
        case .committed: return .committed
        case .abortMessage: return .abortMessage
        case .spoolSpace: return .spoolSpace
        case .deliver: return .deliver
        case .deliveryResult: return .deliveryResult
        case .assignWorker: return .assignWorker
        case .routeRequest: return .routeRequest
        case .route: return .route
        case .explainAddress: return .explainAddress
        case .addressExplanation: return .addressExplanation
        }
    }
}

/// Who may use a queue control socket: `queue.sock` (root and
/// QueueAdminGroup: every command) or `mailq.sock` (everyone: what
/// PrivacyOptions allows).
public enum ControlSocketAccess: UInt8, Sendable, CaseIterable {
    case admin = 1
    case everyone = 2
}
