import PosternCore

/// A reply code with its RFC 3463 enhanced status, carried between processes
/// so that the listener can answer a client with what a policy decided.
public struct ReplyStatus: Equatable, Sendable {
    public var code: UInt16
    public var enhanced: String
    public var text: String

    public init(code: UInt16, enhanced: String, text: String) {
        self.code = code
        self.enhanced = enhanced
        self.text = text
    }
}

/// How one recipient of one delivery attempt ended.
public struct RecipientOutcome: Equatable, Sendable {
    public enum Status: UInt8, Sendable {
        case delivered = 0
        case deferred = 1
        case failed = 2
        /// An alias or a `.forward` replaced the recipient by `expansion`,
        /// which the queue adds to the message.
        case expanded = 3
    }
    /// Index into the envelope's recipient list.
    public var index: UInt32
    public var status: Status
    public var text: String
    /// For `.expanded`: the recipients it became.
    public var expansion: [ExpandedRecipient]
    /// Delivered to a next hop that took the DSN request (NOTIFY, ORCPT)
    /// on: reporting success is its job now, not ours (RFC 3461 §6.2.7).
    public var notifyHandedOn: Bool
    /// The process doing the delivery died (or answered nonsense) before it
    /// reported: it may have delivered. Deferred, retried soon, and the next
    /// attempt is told to look for an earlier copy first.
    public var interrupted: Bool

    public init(
        index: UInt32, status: Status, text: String, expansion: [ExpandedRecipient] = [], notifyHandedOn: Bool = false,
        interrupted: Bool = false
    ) {
        self.index = index
        self.status = status
        self.text = text
        self.expansion = expansion
        self.notifyHandedOn = notifyHandedOn
        self.interrupted = interrupted
    }
}

/// A recipient an alias or a `.forward` named. A remote address (empty
/// `localUser`) is routed by the lookup before the queue adds it; a local
/// one carries the user its delivery runs as and how far it is resolved.
public struct ExpandedRecipient: Hashable, Sendable {
    public var address: String
    public var localUser: String
    public var target: LocalTarget

    public init(address: String, localUser: String, target: LocalTarget) {
        self.address = address
        self.localUser = localUser
        self.target = target
    }
}

/// One recipient handed to a delivery process.
public struct DeliveryRecipient: Equatable, Sendable {
    public var index: UInt32
    public var address: String
    public var localUser: String
    public var target: LocalTarget
    /// ORCPT, or the address the client gave, for a pipe's environment.
    public var originalRecipient: String
    /// NOTIFY=, passed on by the relay when the next server offers DSN.
    public var notify: DSNNotify
    /// An earlier attempt may have delivered it (its process died before
    /// the outcome was recorded, or the queue restarted): local delivery
    /// looks for that copy before it writes another.
    public var maybeDelivered: Bool

    public init(
        index: UInt32, address: String, localUser: String, target: LocalTarget = .name, originalRecipient: String = "",
        notify: DSNNotify = [], maybeDelivered: Bool = false
    ) {
        self.index = index
        self.address = address
        self.localUser = localUser
        self.target = target
        self.originalRecipient = originalRecipient
        self.notify = notify
        self.maybeDelivered = maybeDelivered
    }
}

/// A delivery job: the envelope facts a delivery needs; the message itself
/// travels as a read-only descriptor attached to the frame.
public struct DeliveryJob: Equatable, Sendable {
    public var queueID: QueueID
    public var sender: String
    public var arrival: Int64
    public var recipients: [DeliveryRecipient]
    /// What the relay needs to pass on (SIZE=, BODY=, SMTPUTF8, RET=,
    /// ENVID=) and to refuse a downgrade; local delivery ignores them.
    public var size: Int64
    public var bodyType: MessageBodyType?
    public var smtputf8: Bool
    public var dsnReturn: DSNReturn?
    public var envelopeID: String

    public init(
        queueID: QueueID, sender: String, arrival: Int64, recipients: [DeliveryRecipient], size: Int64 = 0,
        bodyType: MessageBodyType? = nil, smtputf8: Bool = false, dsnReturn: DSNReturn? = nil, envelopeID: String = ""
    ) {
        self.queueID = queueID
        self.sender = sender
        self.arrival = arrival
        self.recipients = recipients
        self.size = size
        self.bodyType = bodyType
        self.smtputf8 = smtputf8
        self.dsnReturn = dsnReturn
        self.envelopeID = envelopeID
    }
}

/// One host to try for a destination, with its addresses in order.
public struct RouteHost: Equatable, Sendable {
    public var name: String
    public var addresses: [String]
    public var port: UInt16

    public init(name: String, addresses: [String], port: UInt16) {
        self.name = name
        self.addresses = addresses
        self.port = port
    }
}

/// The lookup's answer to "where does mail for this domain go".
public struct RouteAnswer: Equatable, Sendable {
    public enum Outcome: UInt8, Sendable {
        case hosts = 0
        /// Try later (DNS failure): the recipients are deferred.
        case temporary = 1
        /// Never deliverable (no such domain, null MX, mail loops back):
        /// the recipients bounce.
        case permanent = 2
    }

    /// Outbound TLS for the destination, from the TLS policy map.
    public enum TLSPolicy: UInt8, Sendable {
        case none = 0
        case may = 1
        case encrypt = 2
        case verify = 3
    }

    public var outcome: Outcome
    /// For `temporary` and `permanent`: "5.1.2 text".
    public var text: String
    public var hosts: [RouteHost]
    public var tls: TLSPolicy

    public init(outcome: Outcome, text: String = "", hosts: [RouteHost] = [], tls: TLSPolicy = .may) {
        self.outcome = outcome
        self.text = text
        self.hosts = hosts
        self.tls = tls
    }
}

/// The identity a local-delivery worker drops to before it touches a file.
public struct WorkerIdentity: Equatable, Sendable {
    public var user: String
    public var uid: UInt32
    public var gid: UInt32
    public var groups: [UInt32]
    public var home: String
    public var mailDirectory: String
    /// `HomeMailbox`: a Maildir under the home ("Maildir/"), or "" for the
    /// mbox in `mailDirectory`.
    public var homeMailbox: String
    /// `SmrshDirectory`: the only programs a pipe delivery may run.
    public var smrshDirectory: String
    /// Seconds a pipe delivery's program may run.
    public var pipeTimeout: UInt32
    /// For a worker that writes files: the SafeFileEnvironment it chroots
    /// into before it drops to the user; such a worker does nothing else.
    /// Empty for a mailbox worker.
    public var jail: String
    /// MyHostname, to write the local names a `.forward` lists as addresses.
    public var hostname: String

    public init(
        user: String, uid: UInt32, gid: UInt32, groups: [UInt32], home: String, mailDirectory: String,
        homeMailbox: String = "", smrshDirectory: String = "", pipeTimeout: UInt32 = 0, jail: String = "",
        hostname: String = ""
    ) {
        self.user = user
        self.uid = uid
        self.gid = gid
        self.groups = groups
        self.home = home
        self.mailDirectory = mailDirectory
        self.homeMailbox = homeMailbox
        self.smrshDirectory = smrshDirectory
        self.pipeTimeout = pipeTimeout
        self.jail = jail
        self.hostname = hostname
    }
}

/// Who is on the other end of an SMTP session, as the listener saw it.
/// The lookup re-derives every decision from it (the client's rights are
/// recomputed from its address, never taken from the listener's word).
public struct ClientContext: Equatable, Sendable {
    public var address: String
    /// The name the lookup found for the address at connect time; empty if none.
    public var hostname: String
    /// The authenticated user; empty when the session has not authenticated.
    public var authenticatedUser: String

    public init(address: String, hostname: String = "", authenticatedUser: String = "") {
        self.address = address
        self.hostname = hostname
        self.authenticatedUser = authenticatedUser
    }
}

/// The start of one SMTP AUTH exchange (RFC 4954), relayed by the listener
/// to the lookup, which alone runs Cyrus SASL and sees the password store.
public struct AuthStart: Equatable, Sendable {
    /// The listener's number for this exchange; later steps name it.
    public var exchange: UInt64
    /// As the client named it, upper case (e.g. PLAIN, SCRAM-SHA-256).
    public var mechanism: String
    /// AUTH's initial response, base64-decoded; nil when the client sent
    /// none, empty for "=".
    public var initialResponse: [UInt8]?
    public var client: ClientContext
    /// Whether the session is under TLS (SASL's external security layer).
    public var tls: Bool

    public init(
        exchange: UInt64, mechanism: String, initialResponse: [UInt8]?, client: ClientContext, tls: Bool
    ) {
        self.exchange = exchange
        self.mechanism = mechanism
        self.initialResponse = initialResponse
        self.client = client
        self.tls = tls
    }
}

/// The lookup's answer at connect time.
public struct ClientVerdict: Equatable, Sendable {
    public enum Action: UInt8, Sendable {
        case accept = 0
        case reject = 1
        case discard = 2
    }
    public var action: Action
    /// The reply for a rejected client (its greeting); unused otherwise.
    public var status: ReplyStatus
    public var mayRelay: Bool
    public var hostname: String

    public init(action: Action, status: ReplyStatus, mayRelay: Bool, hostname: String) {
        self.action = action
        self.status = status
        self.mayRelay = mayRelay
        self.hostname = hostname
    }
}

/// What the listener asks the queue to commit: the envelope as the
/// session built it. The queue adds what only it may decide (arrival time,
/// size from the file, delivery state) and validates every field again.
public struct CommitRequest: Equatable, Sendable {
    public var queueID: QueueID
    public var sender: String
    /// Address, local user (empty: remote), NOTIFY and ORCPT of each.
    public var recipients: [Recipient]
    public var clientAddress: String
    public var clientHelo: String
    public var authUser: String
    public var dsnReturn: DSNReturn?
    public var envelopeID: String
    public var bodyType: MessageBodyType?
    public var smtputf8: Bool

    public init(
        queueID: QueueID, sender: String, recipients: [Recipient], clientAddress: String,
        clientHelo: String, authUser: String, dsnReturn: DSNReturn? = nil, envelopeID: String = "",
        bodyType: MessageBodyType? = nil, smtputf8: Bool = false
    ) {
        self.queueID = queueID
        self.sender = sender
        self.recipients = recipients
        self.clientAddress = clientAddress
        self.clientHelo = clientHelo
        self.authUser = authUser
        self.dsnReturn = dsnReturn
        self.envelopeID = envelopeID
        self.bodyType = bodyType
        self.smtputf8 = smtputf8
    }
}

/// Every message that crosses a socketpair. The raw value of `Kind` is the
/// frame's type field; each kind says how many descriptors it carries, and a
/// frame with any other number is a violation.
public enum IPCMessage: Equatable, Sendable {
    // master -> child
    case configure(text: String)
    case attachPeer(Role)
    case listenSocket(address: String)
    case userDatabase
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
    case rejected(ReplyStatus)
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

    public enum Kind: UInt16, CaseIterable, Sendable {
        case configure = 1
        case attachPeer = 2
        case listenSocket = 3
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

        /// Descriptors a frame of this kind carries.
        public var descriptorCount: Int {
            switch self {
            case .attachPeer, .listenSocket, .userDatabase, .messageOpened, .deliver: return 1
            default: return 0
            }
        }
    }

    public var kind: Kind {
        switch self {
        case .configure: return .configure
        case .attachPeer: return .attachPeer
        case .listenSocket: return .listenSocket
        case .userDatabase: return .userDatabase
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
        }
    }
}
