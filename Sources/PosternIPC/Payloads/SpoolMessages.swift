import PosternCore

/// What the listener asks the queue to commit: the envelope as the
/// session built it. The queue adds what only it may decide (arrival time,
/// size from the file, delivery state) and validates every field again.
public struct CommitRequest: Equatable, Sendable {
    /// The client address of a locally submitted message, which the queue
    /// sets itself for commits on the submit edge.
    public static let localClient = "local"
    public var queueID: QueueID
    public var sender: String
    /// Address, local user (empty: remote), NOTIFY and ORCPT of each; and
    /// its state: pending, or (from submit only) failed with its
    /// `lastResult`, for a recipient the lookup refused that the sender is
    /// told of by a bounce (nobody waits for the answer).
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

// MARK: - on the wire

extension CommitRequest: IPCPayload {
    public func encode(into w: inout ByteWriter) {
        w.write(queueID)
        w.string(sender)
        w.list(recipients) { w, r in
            w.string(r.address)
            w.string(r.localUser)
            w.write(r.notify)
            w.string(r.originalRecipient)
            w.bool(r.state == .failed)
            w.string(r.lastResult)
        }
        w.string(clientAddress)
        w.string(clientHelo)
        w.string(authUser)
        w.write(MessageFacts(dsnReturn: dsnReturn, envelopeID: envelopeID, bodyType: bodyType, smtputf8: smtputf8))
    }

    public init(from r: inout ByteReader) throws(IPCDecodeError) {
        let id = try r.read(QueueID.self)
        let sender = try r.read(.sender)
        let recipients = try r.list("recipients", limit: IPCLimits.maxRecipients) { (r) throws(IPCDecodeError) in
            let address = try r.read(.recipient)
            let user = try r.read(.user)
            let notify = try r.read(DSNNotify.self)
            let orcpt = try r.read(.orcpt)
            let failed = try r.bool()
            return Recipient(
                address: address, localUser: user, state: failed ? .failed : .pending, lastResult: try r.read(.result),
                notify: notify, originalRecipient: orcpt)
        }
        let client = try r.read(.clientAddress)
        let helo = try r.read(.helo)
        let auth = try r.read(.auth)
        let facts = try r.read(MessageFacts.self)
        self.init(
            queueID: id, sender: sender, recipients: recipients, clientAddress: client, clientHelo: helo,
            authUser: auth, dsnReturn: facts.dsnReturn, envelopeID: facts.envelopeID, bodyType: facts.bodyType,
            smtputf8: facts.smtputf8)
    }
}

/// RET=, ENVID=, BODY= and SMTPUTF8 of MAIL, as commit and deliver carry them.
struct MessageFacts: IPCPayload {
    var dsnReturn: DSNReturn?
    var envelopeID: String
    var bodyType: MessageBodyType?
    var smtputf8: Bool

    init(dsnReturn: DSNReturn?, envelopeID: String, bodyType: MessageBodyType?, smtputf8: Bool) {
        self.dsnReturn = dsnReturn
        self.envelopeID = envelopeID
        self.bodyType = bodyType
        self.smtputf8 = smtputf8
    }

    func encode(into w: inout ByteWriter) {
        w.string(dsnReturn?.rawValue ?? "")
        w.string(envelopeID)
        w.string(bodyType?.rawValue ?? "")
        w.bool(smtputf8)
    }

    init(from r: inout ByteReader) throws(IPCDecodeError) {
        let ret = try r.read(.ret)
        let envid = try r.read(.envid)
        let body = try r.read(.body)
        let smtputf8 = try r.bool()
        guard ret.isEmpty || DSNReturn(rawValue: ret) != nil else { throw .badField("ret") }
        guard body.isEmpty || MessageBodyType(rawValue: body) != nil else { throw .badField("body") }
        self.init(
            dsnReturn: DSNReturn(rawValue: ret), envelopeID: envid, bodyType: MessageBodyType(rawValue: body),
            smtputf8: smtputf8)
    }
}
