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
}

extension IPCMessage {
    public func encodePayload(into w: inout ByteWriter) {
        switch self {
        case .configure(let text), .reload(let text):
            w.text(text)
        case .attachPeer(let role), .ready(let role):
            w.string(role.rawValue)
        case .listenSocket(let address):
            w.string(address)
        case .userDatabase, .shutdown, .openMessage, .accepted, .discarded, .authMechanisms:
            break
        case .mechanisms(let names):
            w.u32(UInt32(names.count))
            for name in names { w.string(name) }
        case .authStart(let start):
            w.u64(start.exchange)
            w.string(start.mechanism)
            w.bool(start.initialResponse != nil)
            w.data(start.initialResponse ?? [])
            encode(client: start.client, into: &w)
            w.bool(start.tls)
        case .authStep(let exchange, let response):
            w.u64(exchange)
            w.data(response)
        case .authAbort(let exchange):
            w.u64(exchange)
        case .authChallenge(let challenge):
            w.data(challenge)
        case .authSucceeded(let user):
            w.string(user)
        case .checkClient(let client):
            encode(client: client, into: &w)
        case .clientVerdict(let v):
            w.u8(v.action.rawValue)
            encode(status: v.status, into: &w)
            w.bool(v.mayRelay)
            w.string(v.hostname)
        case .checkSender(let address, let client):
            w.string(address)
            encode(client: client, into: &w)
        case .recipientRemote(let address, let domain):
            w.string(address)
            w.string(domain)
        case .peerViolation(let role, let reason):
            w.string(role.rawValue)
            w.string(reason)
        case .checkRecipient(let address, let client):
            w.string(address)
            encode(client: client, into: &w)
        case .recipientAccepted(let user):
            w.string(user)
        case .rejected(let status):
            encode(status: status, into: &w)
        case .messageOpened(let id), .committed(let id), .abortMessage(let id):
            w.string(id.value)
        case .ping(let n), .pong(let n), .spoolSpace(let n):
            w.u64(n)
        case .commitMessage(let c):
            w.string(c.queueID.value)
            w.string(c.sender)
            w.u32(UInt32(c.recipients.count))
            for r in c.recipients {
                w.string(r.address)
                w.string(r.localUser)
                w.u8(r.notify.rawValue)
                w.string(r.originalRecipient)
            }
            w.string(c.clientAddress)
            w.string(c.clientHelo)
            w.string(c.authUser)
            w.string(c.dsnReturn?.rawValue ?? "")
            w.string(c.envelopeID)
            w.string(c.bodyType?.rawValue ?? "")
            w.bool(c.smtputf8)
        case .deliver(let job):
            w.string(job.queueID.value)
            w.string(job.sender)
            w.i64(job.arrival)
            encode(recipients: job.recipients, into: &w)
            w.i64(job.size)
            w.string(job.dsnReturn?.rawValue ?? "")
            w.string(job.envelopeID)
            w.string(job.bodyType?.rawValue ?? "")
            w.bool(job.smtputf8)
        case .routeRequest(let domain):
            w.string(domain)
        case .route(let answer):
            w.u8(answer.outcome.rawValue)
            w.string(answer.text)
            w.u8(answer.tls.rawValue)
            w.u32(UInt32(answer.hosts.count))
            for host in answer.hosts {
                w.string(host.name)
                w.u32(UInt32(host.addresses.count))
                for address in host.addresses { w.string(address) }
                w.u16(host.port)
            }
        case .deliveryResult(let id, let outcomes):
            w.string(id.value)
            w.u32(UInt32(outcomes.count))
            for o in outcomes {
                w.u32(o.index)
                w.u8(o.status.rawValue)
                w.string(o.text)
                w.u32(UInt32(o.expansion.count))
                for e in o.expansion {
                    w.string(e.address)
                    w.string(e.localUser)
                    w.string(e.target.text)
                }
                w.bool(o.notifyHandedOn)
                w.bool(o.interrupted)
            }
        case .assignWorker(let identity):
            w.string(identity.user)
            w.u32(identity.uid)
            w.u32(identity.gid)
            w.u32(UInt32(identity.groups.count))
            for g in identity.groups { w.u32(g) }
            w.string(identity.home)
            w.string(identity.mailDirectory)
            w.string(identity.homeMailbox)
            w.string(identity.smrshDirectory)
            w.u32(identity.pipeTimeout)
            w.string(identity.jail)
            w.string(identity.hostname)
        }
    }

    private func encode(client: ClientContext, into w: inout ByteWriter) {
        w.string(client.address)
        w.string(client.hostname)
        w.string(client.authenticatedUser)
    }

    private func encode(status: ReplyStatus, into w: inout ByteWriter) {
        w.u16(status.code)
        w.string(status.enhanced)
        w.string(status.text)
    }

    private func encode(recipients: [DeliveryRecipient], into w: inout ByteWriter) {
        w.u32(UInt32(recipients.count))
        for r in recipients {
            w.u32(r.index)
            w.string(r.address)
            w.string(r.localUser)
            w.string(r.target.text)
            w.string(r.originalRecipient)
            w.u8(r.notify.rawValue)
            w.bool(r.maybeDelivered)
        }
    }

    /// Decodes a payload strictly: every field checked, nothing left over.
    public static func decode(kind: Kind, payload r: inout ByteReader) throws(IPCDecodeError) -> IPCMessage {
        let message: IPCMessage
        switch kind {
        case .configure:
            message = .configure(text: try r.text("config", limit: IPCLimits.maxConfigText))
        case .reload:
            message = .reload(text: try r.text("config", limit: IPCLimits.maxConfigText))
        case .attachPeer:
            message = .attachPeer(try role(&r))
        case .ready:
            message = .ready(try role(&r))
        case .listenSocket:
            message = .listenSocket(address: try r.field("listen", limit: 64))
        case .userDatabase:
            message = .userDatabase
        case .shutdown:
            message = .shutdown
        case .ping:
            message = .ping(try r.u64())
        case .pong:
            message = .pong(try r.u64())
        case .spoolSpace:
            message = .spoolSpace(freeBytes: try r.u64())
        case .openMessage:
            message = .openMessage
        case .peerViolation:
            let who = try role(&r)
            message = .peerViolation(who, reason: try r.field("reason"))
        case .checkRecipient:
            let address = try r.field("address", limit: EnvelopeField.maxAddressLength)
            message = .checkRecipient(address: address, client: try client(&r))
        case .checkSender:
            let address = try r.field("address", limit: EnvelopeField.maxAddressLength)
            message = .checkSender(address: address, client: try client(&r))
        case .checkClient:
            message = .checkClient(try client(&r))
        case .clientVerdict:
            guard let action = ClientVerdict.Action(rawValue: try r.u8()) else { throw .badField("action") }
            let status = try replyStatus(&r)
            let mayRelay = try r.bool()
            let hostname = try r.field("hostname", limit: 255)
            message = .clientVerdict(
                ClientVerdict(action: action, status: status, mayRelay: mayRelay, hostname: hostname))
        case .accepted:
            message = .accepted
        case .authMechanisms:
            message = .authMechanisms
        case .mechanisms:
            let n = try r.count("mechanisms", limit: IPCLimits.maxMechanisms)
            var names: [String] = []
            for _ in 0..<n {
                let name = try r.field("mechanism", limit: 20)
                guard SASLMechanismName.isValid(name) else { throw .badField("mechanism") }
                names.append(name)
            }
            message = .mechanisms(names)
        case .authStart:
            let exchange = try r.u64()
            let mechanism = try r.field("mechanism", limit: 20)
            guard SASLMechanismName.isValid(mechanism) else { throw .badField("mechanism") }
            let hasInitial = try r.bool()
            let initial = try r.data("initial response", limit: IPCLimits.maxSASLData)
            guard hasInitial || initial.isEmpty else { throw .badField("initial response") }
            let client = try client(&r)
            message = .authStart(
                AuthStart(
                    exchange: exchange, mechanism: mechanism, initialResponse: hasInitial ? initial : nil,
                    client: client, tls: try r.bool()))
        case .authStep:
            let exchange = try r.u64()
            message = .authStep(exchange: exchange, response: try r.data("response", limit: IPCLimits.maxSASLData))
        case .authAbort:
            message = .authAbort(exchange: try r.u64())
        case .authChallenge:
            message = .authChallenge(try r.data("challenge", limit: IPCLimits.maxSASLData))
        case .authSucceeded:
            message = .authSucceeded(user: try r.field("user", limit: EnvelopeField.maxAddressLength))
        case .discarded:
            message = .discarded
        case .recipientRemote:
            message = .recipientRemote(
                address: try r.field("address", limit: EnvelopeField.maxAddressLength),
                domain: try r.field("domain", limit: 255))
        case .recipientAccepted:
            message = .recipientAccepted(localUser: try r.field("user", limit: 64))
        case .rejected:
            message = .rejected(try replyStatus(&r))
        case .messageOpened:
            message = .messageOpened(try queueID(&r))
        case .committed:
            message = .committed(try queueID(&r))
        case .abortMessage:
            message = .abortMessage(try queueID(&r))
        case .commitMessage:
            let id = try queueID(&r)
            let sender = try r.field("sender", limit: EnvelopeField.maxAddressLength)
            let n = try r.count("recipients", limit: IPCLimits.maxRecipients)
            var recipients: [Recipient] = []
            recipients.reserveCapacity(n)
            for _ in 0..<n {
                let address = try r.field("recipient", limit: EnvelopeField.maxAddressLength)
                let user = try r.field("user", limit: 64)
                let notify = try notifyField(&r)
                let orcpt = try r.field("orcpt", limit: 500)
                recipients.append(
                    Recipient(address: address, localUser: user, notify: notify, originalRecipient: orcpt))
            }
            let client = try r.field("client", limit: 64)
            let helo = try r.field("helo", limit: EnvelopeField.maxAddressLength)
            let auth = try r.field("auth", limit: EnvelopeField.maxAddressLength)
            let (ret, envid, body, smtputf8) = try messageFacts(&r)
            message = .commitMessage(
                CommitRequest(
                    queueID: id, sender: sender, recipients: recipients, clientAddress: client,
                    clientHelo: helo, authUser: auth, dsnReturn: ret, envelopeID: envid,
                    bodyType: body, smtputf8: smtputf8))
        case .deliver:
            let id = try queueID(&r)
            let sender = try r.field("sender", limit: EnvelopeField.maxAddressLength)
            let arrival = try r.i64()
            let recipients = try decodeRecipients(&r)
            let size = try r.i64()
            let (ret, envid, body, smtputf8) = try messageFacts(&r)
            message = .deliver(
                DeliveryJob(
                    queueID: id, sender: sender, arrival: arrival, recipients: recipients, size: size,
                    bodyType: body, smtputf8: smtputf8, dsnReturn: ret, envelopeID: envid))
        case .routeRequest:
            message = .routeRequest(domain: try r.field("domain", limit: 255))
        case .route:
            guard let outcome = RouteAnswer.Outcome(rawValue: try r.u8()) else { throw .badField("outcome") }
            let text = try r.field("text")
            guard let tls = RouteAnswer.TLSPolicy(rawValue: try r.u8()) else { throw .badField("tls") }
            let n = try r.count("hosts", limit: IPCLimits.maxRouteHosts)
            var hosts: [RouteHost] = []
            for _ in 0..<n {
                let name = try r.field("host", limit: 255)
                let count = try r.count("addresses", limit: IPCLimits.maxRouteHosts)
                var addresses: [String] = []
                for _ in 0..<count { addresses.append(try r.field("address", limit: 64)) }
                hosts.append(RouteHost(name: name, addresses: addresses, port: try r.u16()))
            }
            message = .route(RouteAnswer(outcome: outcome, text: text, hosts: hosts, tls: tls))
        case .deliveryResult:
            let id = try queueID(&r)
            let n = try r.count("outcomes", limit: IPCLimits.maxRecipients)
            var outcomes: [RecipientOutcome] = []
            outcomes.reserveCapacity(n)
            for _ in 0..<n {
                let index = try r.u32()
                guard let status = RecipientOutcome.Status(rawValue: try r.u8()) else { throw .badField("status") }
                let text = try r.field("result")
                let expansion = try expansion(&r)
                guard expansion.isEmpty || status == .expanded else { throw .badField("expansion") }
                let handedOn = try r.bool()
                let interrupted = try r.bool()
                guard !interrupted || status == .deferred else { throw .badField("interrupted") }
                outcomes.append(
                    RecipientOutcome(
                        index: index, status: status, text: text, expansion: expansion, notifyHandedOn: handedOn,
                        interrupted: interrupted))
            }
            message = .deliveryResult(id, outcomes)
        case .assignWorker:
            let user = try r.field("user", limit: 64)
            let uid = try r.u32()
            let gid = try r.u32()
            let n = try r.count("groups", limit: IPCLimits.maxGroups)
            var groups: [UInt32] = []
            for _ in 0..<n { groups.append(try r.u32()) }
            let home = try r.field("home")
            let mailDirectory = try r.field("maildir")
            let homeMailbox = try r.field("home mailbox", limit: 255)
            let smrsh = try r.field("smrsh")
            let pipeTimeout = try r.u32()
            let jail = try r.field("jail")
            let hostname = try r.field("hostname", limit: 255)
            message = .assignWorker(
                WorkerIdentity(
                    user: user, uid: uid, gid: gid, groups: groups, home: home, mailDirectory: mailDirectory,
                    homeMailbox: homeMailbox, smrshDirectory: smrsh, pipeTimeout: pipeTimeout, jail: jail,
                    hostname: hostname))
        }
        try r.expectEnd()
        return message
    }

    private static func client(_ r: inout ByteReader) throws(IPCDecodeError) -> ClientContext {
        let address = try r.field("client", limit: 64)
        let hostname = try r.field("hostname", limit: 255)
        return ClientContext(
            address: address, hostname: hostname,
            authenticatedUser: try r.field("authuser", limit: EnvelopeField.maxAddressLength))
    }

    /// A reply code a peer wants sent: 2xx to 5xx only, bounded texts.
    private static func replyStatus(_ r: inout ByteReader) throws(IPCDecodeError) -> ReplyStatus {
        let code = try r.u16()
        guard (200...599).contains(code) else { throw .badField("code") }
        let enhanced = try r.field("enhanced", limit: 16)
        return ReplyStatus(code: code, enhanced: enhanced, text: try r.field("text"))
    }

    private static func role(_ r: inout ByteReader) throws(IPCDecodeError) -> Role {
        guard let role = Role(rawValue: try r.field("role", limit: 32)) else { throw .badField("role") }
        return role
    }

    private static func queueID(_ r: inout ByteReader) throws(IPCDecodeError) -> QueueID {
        guard let id = QueueID(try r.field("queueid", limit: QueueID.length)) else { throw .badField("queueid") }
        return id
    }

    private static func decodeRecipients(_ r: inout ByteReader) throws(IPCDecodeError) -> [DeliveryRecipient] {
        let n = try r.count("recipients", limit: IPCLimits.maxRecipients)
        var list: [DeliveryRecipient] = []
        list.reserveCapacity(n)
        for _ in 0..<n {
            let index = try r.u32()
            let address = try r.field("recipient", limit: EnvelopeField.maxAddressLength)
            let user = try r.field("user", limit: 64)
            let target = try localTarget(&r)
            let orcpt = try r.field("orcpt", limit: 500)
            let notify = try notifyField(&r)
            let maybeDelivered = try r.bool()
            list.append(
                DeliveryRecipient(
                    index: index, address: address, localUser: user, target: target, originalRecipient: orcpt,
                    notify: notify, maybeDelivered: maybeDelivered))
        }
        return list
    }

    /// NOTIFY bits: the four known ones, NEVER alone or not at all.
    private static func notifyField(_ r: inout ByteReader) throws(IPCDecodeError) -> DSNNotify {
        let bits = try r.u8()
        let notify = DSNNotify(rawValue: bits)
        guard bits & ~0x0F == 0, !notify.contains(.never) || notify == .never else { throw .badField("notify") }
        return notify
    }

    /// RET=, ENVID=, BODY= and SMTPUTF8, as commit and deliver carry them.
    private static func messageFacts(_ r: inout ByteReader) throws(IPCDecodeError) -> (
        DSNReturn?, String, MessageBodyType?, Bool
    ) {
        let ret = try r.field("ret", limit: 8)
        let envid = try r.field("envid", limit: 100)
        let body = try r.field("body", limit: 16)
        let smtputf8 = try r.bool()
        guard ret.isEmpty || DSNReturn(rawValue: ret) != nil else { throw .badField("ret") }
        guard body.isEmpty || MessageBodyType(rawValue: body) != nil else { throw .badField("body") }
        return (DSNReturn(rawValue: ret), envid, MessageBodyType(rawValue: body), smtputf8)
    }

    private static func localTarget(_ r: inout ByteReader) throws(IPCDecodeError) -> LocalTarget {
        guard let target = LocalTarget(text: try r.field("target", limit: EnvelopeField.maxTargetLength)) else {
            throw .badField("target")
        }
        return target
    }

    private static func expansion(_ r: inout ByteReader) throws(IPCDecodeError) -> [ExpandedRecipient] {
        let n = try r.count("expansion", limit: IPCLimits.maxRecipients)
        var list: [ExpandedRecipient] = []
        for _ in 0..<n {
            let address = try r.field("recipient", limit: EnvelopeField.maxAddressLength)
            let user = try r.field("user", limit: 64)
            list.append(ExpandedRecipient(address: address, localUser: user, target: try localTarget(&r)))
        }
        return list
    }
}
