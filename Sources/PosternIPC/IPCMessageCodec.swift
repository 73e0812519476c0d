import PosternCore

/// Bounds on what a single frame may declare, so that a hostile peer cannot
/// make the receiver allocate or loop without limit.
public enum IPCLimits {
    public static let maxRecipients = 10_000
    public static let maxConfigText = 60_000
    public static let maxGroups = 256
    /// One SASL message, decoded: RFC 4954 allows 12288 octets of base64
    /// per line, 9216 octets decoded.
    public static let maxSASLData = 12_288
    public static let maxMechanisms = 64
    /// MX hosts of a route, and addresses of one host.
    public static let maxRouteHosts = 64
    /// Lines of a `sendmail -bv` answer.
    public static let maxExplanationLines = 1_000
}

extension IPCMessage {
    /// Each arm writes the message's payload; the payload types write
    /// themselves (`IPCPayload`, beside their definitions).
    public func encodePayload(into w: inout ByteWriter) {
        switch self {
        case .configure(let text), .reload(let text): w.text(text)
        case .attachPeer(let role), .ready(let role): w.write(role)
        case .listenSocket(let address): w.string(address)
        case .controlSocket(let access): w.u8(access.rawValue)
        case .userDatabase, .submitSocket, .reopenLog, .shutdown, .openMessage, .accepted, .discarded, .authMechanisms:
            break
        case .ping(let n), .pong(let n), .spoolSpace(let n): w.u64(n)
        case .peerViolation(let role, let reason):
            w.write(role)
            w.string(reason)
        case .checkClient(let client): w.write(client)
        case .clientVerdict(let verdict): w.write(verdict)
        case .checkSender(let address, let client), .checkRecipient(let address, let client):
            w.string(address)
            w.write(client)
        case .recipientAccepted(let user): w.string(user)
        case .recipientRemote(let address, let domain):
            w.string(address)
            w.string(domain)
        case .rejected(let status): w.write(status)
        case .mechanisms(let names): w.list(names) { w, name in w.string(name) }
        case .authStart(let start): w.write(start)
        case .authStep(let exchange, let response):
            w.u64(exchange)
            w.data(response)
        case .authAbort(let exchange): w.u64(exchange)
        case .authChallenge(let challenge): w.data(challenge)
        case .authSucceeded(let user): w.string(user)
        case .messageOpened(let id), .committed(let id), .abortMessage(let id): w.write(id)
        case .commitMessage(let request): w.write(request)
        case .deliver(let job): w.write(job)
        case .deliveryResult(let id, let outcomes):
            w.write(id)
            w.list(outcomes)
        case .assignWorker(let identity): w.write(identity)
        case .routeRequest(let domain): w.string(domain)
        case .route(let answer): w.write(answer)
        case .explainAddress(let address): w.string(address)
        case .addressExplanation(let lines): w.list(lines) { w, line in w.string(line) }
        }
    }

    /// Decodes a payload strictly: every field checked, nothing left over.
    public static func decode(kind: Kind, payload r: inout ByteReader) throws(IPCDecodeError) -> IPCMessage {
        let message: IPCMessage
        switch kind {
        case .configure: message = .configure(text: try r.text("config", limit: IPCLimits.maxConfigText))
        case .reload: message = .reload(text: try r.text("config", limit: IPCLimits.maxConfigText))
        case .attachPeer: message = .attachPeer(try r.read(Role.self))
        case .ready: message = .ready(try r.read(Role.self))
        case .listenSocket: message = .listenSocket(address: try r.read(.listen))
        case .controlSocket:
            guard let access = ControlSocketAccess(rawValue: try r.u8()) else { throw .badField("access") }
            message = .controlSocket(access)
        case .userDatabase: message = .userDatabase
        case .submitSocket: message = .submitSocket
        case .reopenLog: message = .reopenLog
        case .shutdown: message = .shutdown
        case .ping: message = .ping(try r.u64())
        case .pong: message = .pong(try r.u64())
        case .spoolSpace: message = .spoolSpace(freeBytes: try r.u64())
        case .openMessage: message = .openMessage
        case .peerViolation:
            let who = try r.read(Role.self)
            message = .peerViolation(who, reason: try r.read(.reason))
        case .checkRecipient:
            let address = try r.read(.address)
            message = .checkRecipient(address: address, client: try r.read(ClientContext.self))
        case .checkSender:
            let address = try r.read(.address)
            message = .checkSender(address: address, client: try r.read(ClientContext.self))
        case .checkClient: message = .checkClient(try r.read(ClientContext.self))
        case .clientVerdict: message = .clientVerdict(try r.read(ClientVerdict.self))
        case .accepted: message = .accepted
        case .discarded: message = .discarded
        case .authMechanisms: message = .authMechanisms
        case .mechanisms:
            message = .mechanisms(
                try r.list("mechanisms", limit: IPCLimits.maxMechanisms) { (r) throws(IPCDecodeError) in
                    try r.mechanismName()
                })
        case .authStart: message = .authStart(try r.read(AuthStart.self))
        case .authStep:
            let exchange = try r.u64()
            message = .authStep(exchange: exchange, response: try r.data("response", limit: IPCLimits.maxSASLData))
        case .authAbort: message = .authAbort(exchange: try r.u64())
        case .authChallenge: message = .authChallenge(try r.data("challenge", limit: IPCLimits.maxSASLData))
        case .authSucceeded: message = .authSucceeded(user: try r.read(.authenticatedUser))
        case .recipientRemote:
            let address = try r.read(.address)
            message = .recipientRemote(address: address, domain: try r.read(.domain))
        case .recipientAccepted: message = .recipientAccepted(localUser: try r.read(.user))
        case .rejected: message = .rejected(try r.read(SMTPReply.self))
        case .messageOpened: message = .messageOpened(try r.read(QueueID.self))
        case .committed: message = .committed(try r.read(QueueID.self))
        case .abortMessage: message = .abortMessage(try r.read(QueueID.self))
        case .commitMessage: message = .commitMessage(try r.read(CommitRequest.self))
        case .deliver: message = .deliver(try r.read(DeliveryJob.self))
        case .deliveryResult:
            let id = try r.read(QueueID.self)
            message = .deliveryResult(id, try r.list("outcomes", limit: IPCLimits.maxRecipients))
        case .assignWorker: message = .assignWorker(try r.read(WorkerIdentity.self))
        case .routeRequest: message = .routeRequest(domain: try r.read(.domain))
        case .route: message = .route(try r.read(RouteAnswer.self))
        case .explainAddress: message = .explainAddress(address: try r.read(.address))
        case .addressExplanation:
            message = .addressExplanation(
                try r.list("explanation", limit: IPCLimits.maxExplanationLines) { (r) throws(IPCDecodeError) in
                    try r.read(.explanation)
                })
        }
        try r.expectEnd()
        return message
    }
}
