import PosternCore

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

// MARK: - on the wire

extension DeliveryJob: IPCPayload {
    public func encode(into w: inout ByteWriter) {
        w.write(queueID)
        w.string(sender)
        w.i64(arrival)
        w.list(recipients)
        w.i64(size)
        w.write(MessageFacts(dsnReturn: dsnReturn, envelopeID: envelopeID, bodyType: bodyType, smtputf8: smtputf8))
    }

    public init(from r: inout ByteReader) throws(IPCDecodeError) {
        let id = try r.read(QueueID.self)
        let sender = try r.read(.sender)
        let arrival = try r.i64()
        let recipients: [DeliveryRecipient] = try r.list("recipients", limit: IPCLimits.maxRecipients)
        let size = try r.i64()
        let facts = try r.read(MessageFacts.self)
        self.init(
            queueID: id, sender: sender, arrival: arrival, recipients: recipients, size: size,
            bodyType: facts.bodyType, smtputf8: facts.smtputf8, dsnReturn: facts.dsnReturn,
            envelopeID: facts.envelopeID)
    }
}

extension DeliveryRecipient: IPCPayload {
    public func encode(into w: inout ByteWriter) {
        w.u32(index)
        w.string(address)
        w.string(localUser)
        w.write(target)
        w.string(originalRecipient)
        w.write(notify)
        w.bool(maybeDelivered)
    }

    public init(from r: inout ByteReader) throws(IPCDecodeError) {
        let index = try r.u32()
        let address = try r.read(.recipient)
        let user = try r.read(.user)
        let target = try r.read(LocalTarget.self)
        let orcpt = try r.read(.orcpt)
        let notify = try r.read(DSNNotify.self)
        self.init(
            index: index, address: address, localUser: user, target: target, originalRecipient: orcpt,
            notify: notify, maybeDelivered: try r.bool())
    }
}

extension RecipientOutcome: IPCPayload {
    public func encode(into w: inout ByteWriter) {
        w.u32(index)
        w.u8(status.rawValue)
        w.string(text)
        w.list(expansion)
        w.bool(notifyHandedOn)
        w.bool(interrupted)
    }

    /// Members only for an expanded recipient; interrupted only when deferred.
    public init(from r: inout ByteReader) throws(IPCDecodeError) {
        let index = try r.u32()
        guard let status = Status(rawValue: try r.u8()) else { throw .badField("status") }
        let text = try r.read(.result)
        let expansion: [ExpandedRecipient] = try r.list("expansion", limit: IPCLimits.maxRecipients)
        guard expansion.isEmpty || status == .expanded else { throw .badField("expansion") }
        let handedOn = try r.bool()
        let interrupted = try r.bool()
        guard !interrupted || status == .deferred else { throw .badField("interrupted") }
        self.init(
            index: index, status: status, text: text, expansion: expansion, notifyHandedOn: handedOn,
            interrupted: interrupted)
    }
}

extension ExpandedRecipient: IPCPayload {
    public func encode(into w: inout ByteWriter) {
        w.string(address)
        w.string(localUser)
        w.write(target)
    }

    public init(from r: inout ByteReader) throws(IPCDecodeError) {
        let address = try r.read(.recipient)
        let user = try r.read(.user)
        self.init(address: address, localUser: user, target: try r.read(LocalTarget.self))
    }
}

extension WorkerIdentity: IPCPayload {
    public func encode(into w: inout ByteWriter) {
        w.string(user)
        w.u32(uid)
        w.u32(gid)
        w.list(groups) { w, g in w.u32(g) }
        w.string(home)
        w.string(mailDirectory)
        w.string(homeMailbox)
        w.string(smrshDirectory)
        w.u32(pipeTimeout)
        w.string(jail)
        w.string(hostname)
    }

    public init(from r: inout ByteReader) throws(IPCDecodeError) {
        let user = try r.read(.user)
        let uid = try r.u32()
        let gid = try r.u32()
        let groups = try r.list("groups", limit: IPCLimits.maxGroups) { (r) throws(IPCDecodeError) in try r.u32() }
        let home = try r.read(.home)
        let mailDirectory = try r.read(.mailDirectory)
        let homeMailbox = try r.read(.homeMailbox)
        let smrsh = try r.read(.smrsh)
        let pipeTimeout = try r.u32()
        let jail = try r.read(.jail)
        self.init(
            user: user, uid: uid, gid: gid, groups: groups, home: home, mailDirectory: mailDirectory,
            homeMailbox: homeMailbox, smrshDirectory: smrsh, pipeTimeout: pipeTimeout, jail: jail,
            hostname: try r.read(.hostname))
    }
}
