import PosternCore

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

/// The lookup's answer at connect time.
public struct ClientVerdict: Equatable, Sendable {
    public enum Action: UInt8, Sendable {
        case accept = 0
        case reject = 1
        case discard = 2
    }
    public var action: Action
    /// The reply for a rejected client (its greeting); unused otherwise.
    public var status: SMTPReply
    public var mayRelay: Bool
    public var hostname: String
    /// The access map trusts the client (`Connect:` OK or RELAY): it is
    /// exempt from the per-client connection limits.
    public var trusted: Bool

    public init(action: Action, status: SMTPReply, mayRelay: Bool, hostname: String, trusted: Bool = false) {
        self.action = action
        self.status = status
        self.mayRelay = mayRelay
        self.hostname = hostname
        self.trusted = trusted
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

// MARK: - on the wire

/// The reply a policy decision or a refusal carries between processes
/// (one line: a decision never needs more), so that the listener can answer
/// a client with what another process decided.
extension SMTPReply: IPCPayload {
    public func encode(into w: inout ByteWriter) {
        w.u16(UInt16(clamping: code))
        w.string(enhanced)
        w.string(text)
    }

    /// A reply code a peer wants sent: 2xx to 5xx only, bounded texts.
    public init(from r: inout ByteReader) throws(IPCDecodeError) {
        let code = try r.u16()
        guard (200...599).contains(code) else { throw .badField("code") }
        self.init(code: Int(code), enhanced: try r.read(.enhanced), text: try r.read(.text))
    }
}

extension ClientContext: IPCPayload {
    public func encode(into w: inout ByteWriter) {
        w.string(address)
        w.string(hostname)
        w.string(authenticatedUser)
    }

    public init(from r: inout ByteReader) throws(IPCDecodeError) {
        let address = try r.read(.clientAddress)
        let hostname = try r.read(.hostname)
        self.init(address: address, hostname: hostname, authenticatedUser: try r.read(.authUser))
    }
}

extension ClientVerdict: IPCPayload {
    public func encode(into w: inout ByteWriter) {
        w.u8(action.rawValue)
        w.write(status)
        w.bool(mayRelay)
        w.string(hostname)
        w.bool(trusted)
    }

    public init(from r: inout ByteReader) throws(IPCDecodeError) {
        guard let action = Action(rawValue: try r.u8()) else { throw .badField("action") }
        let status = try r.read(SMTPReply.self)
        let mayRelay = try r.bool()
        let hostname = try r.read(.hostname)
        self.init(action: action, status: status, mayRelay: mayRelay, hostname: hostname, trusted: try r.bool())
    }
}

extension AuthStart: IPCPayload {
    public func encode(into w: inout ByteWriter) {
        w.u64(exchange)
        w.string(mechanism)
        w.bool(initialResponse != nil)
        w.data(initialResponse ?? [])
        w.write(client)
        w.bool(tls)
    }

    public init(from r: inout ByteReader) throws(IPCDecodeError) {
        let exchange = try r.u64()
        let mechanism = try r.mechanismName()
        let hasInitial = try r.bool()
        let initial = try r.data("initial response", limit: IPCLimits.maxSASLData)
        guard hasInitial || initial.isEmpty else { throw .badField("initial response") }
        let client = try r.read(ClientContext.self)
        self.init(
            exchange: exchange, mechanism: mechanism, initialResponse: hasInitial ? initial : nil, client: client,
            tls: try r.bool())
    }
}

extension ByteReader {
    /// A SASL mechanism's name, as RFC 4422 spells them.
    mutating func mechanismName() throws(IPCDecodeError) -> String {
        let name = try read(.mechanism)
        guard SASLMechanismName.isValid(name) else { throw .badField("mechanism") }
        return name
    }
}
