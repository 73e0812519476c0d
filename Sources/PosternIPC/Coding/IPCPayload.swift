import PosternCore

/// A value that travels in a frame and writes and reads itself, beside its
/// type's definition: adding a field to a message is a change in one file.
/// Reading is strict — every field checked as it is read, a typed error for
/// anything a correct peer would not have written.
public protocol IPCPayload: Sendable {
    func encode(into w: inout ByteWriter)
    init(from r: inout ByteReader) throws(IPCDecodeError)
}

/// A string field: its name (for the error that refuses it) and the most
/// bytes it may have. Every field a frame carries is one of these, so a
/// field's limit is stated once, not at each place that reads it.
public struct IPCField: Sendable {
    public let name: String
    public let limit: Int

    public init(_ name: String, limit: Int = EnvelopeField.maxTextLength) {
        self.name = name
        self.limit = limit
    }
}

extension IPCField {
    // Addresses and names from an SMTP session.
    static let address = IPCField("address", limit: EnvelopeField.maxAddressLength)
    static let recipient = IPCField("recipient", limit: EnvelopeField.maxAddressLength)
    static let sender = IPCField("sender", limit: EnvelopeField.maxAddressLength)
    static let helo = IPCField("helo", limit: EnvelopeField.maxAddressLength)
    static let auth = IPCField("auth", limit: EnvelopeField.maxAddressLength)
    static let authUser = IPCField("authuser", limit: EnvelopeField.maxAddressLength)
    static let authenticatedUser = IPCField("user", limit: EnvelopeField.maxAddressLength)
    static let clientAddress = IPCField("client", limit: 64)
    static let hostname = IPCField("hostname", limit: 255)
    static let domain = IPCField("domain", limit: 255)
    static let mechanism = IPCField("mechanism", limit: 20)
    // Queue and delivery.
    static let queueID = IPCField("queueid", limit: QueueID.length)
    static let user = IPCField("user", limit: 64)
    static let orcpt = IPCField("orcpt", limit: 500)
    static let target = IPCField("target", limit: EnvelopeField.maxTargetLength)
    static let result = IPCField("result")
    static let ret = IPCField("ret", limit: 8)
    static let envid = IPCField("envid", limit: 100)
    static let body = IPCField("body", limit: 16)
    static let home = IPCField("home")
    static let mailDirectory = IPCField("maildir")
    static let homeMailbox = IPCField("home mailbox", limit: 255)
    static let smrsh = IPCField("smrsh")
    static let jail = IPCField("jail")
    // Replies and routes.
    static let enhanced = IPCField("enhanced", limit: 16)
    static let text = IPCField("text")
    static let routeHost = IPCField("host", limit: 255)
    static let hostAddress = IPCField("address", limit: 64)
    // The master channel.
    static let role = IPCField("role", limit: 32)
    static let reason = IPCField("reason")
    static let explanation = IPCField("explanation", limit: 1_000)
    static let listen = IPCField("listen", limit: 64)
}

extension ByteReader {
    public mutating func read(_ field: IPCField) throws(IPCDecodeError) -> String {
        try self.field(field.name, limit: field.limit)
    }

    public mutating func read<T: IPCPayload>(_: T.Type = T.self) throws(IPCDecodeError) -> T {
        try T(from: &self)
    }

    /// A count (bounded before anything is allocated) and that many elements.
    public mutating func list<T>(
        _ name: String, limit: Int, _ element: (inout ByteReader) throws(IPCDecodeError) -> T
    ) throws(IPCDecodeError) -> [T] {
        let n = try count(name, limit: limit)
        var out: [T] = []
        out.reserveCapacity(n)
        for _ in 0..<n { out.append(try element(&self)) }
        return out
    }

    public mutating func list<T: IPCPayload>(_ name: String, limit: Int) throws(IPCDecodeError) -> [T] {
        try list(name, limit: limit) { (r) throws(IPCDecodeError) in try T(from: &r) }
    }
}

extension ByteWriter {
    public mutating func write(_ payload: some IPCPayload) { payload.encode(into: &self) }

    public mutating func list<T>(_ items: [T], _ element: (inout ByteWriter, T) -> Void) {
        u32(UInt32(items.count))
        for item in items { element(&self, item) }
    }

    public mutating func list(_ items: [some IPCPayload]) {
        list(items) { w, item in item.encode(into: &w) }
    }
}

// MARK: - core values as fields

extension QueueID: IPCPayload {
    public func encode(into w: inout ByteWriter) { w.string(value) }

    public init(from r: inout ByteReader) throws(IPCDecodeError) {
        guard let id = QueueID(try r.read(.queueID)) else { throw .badField("queueid") }
        self = id
    }
}

extension Role: IPCPayload {
    public func encode(into w: inout ByteWriter) { w.string(rawValue) }

    public init(from r: inout ByteReader) throws(IPCDecodeError) {
        guard let role = Role(rawValue: try r.read(.role)) else { throw .badField("role") }
        self = role
    }
}

extension LocalTarget: IPCPayload {
    public func encode(into w: inout ByteWriter) { w.string(text) }

    public init(from r: inout ByteReader) throws(IPCDecodeError) {
        guard let target = LocalTarget(text: try r.read(.target)) else { throw .badField("target") }
        self = target
    }
}

extension DSNNotify: IPCPayload {
    public func encode(into w: inout ByteWriter) { w.u8(rawValue) }

    /// The four known bits, NEVER alone or not at all.
    public init(from r: inout ByteReader) throws(IPCDecodeError) {
        let bits = try r.u8()
        let notify = DSNNotify(rawValue: bits)
        guard bits & ~0x0F == 0, !notify.contains(.never) || notify == .never else { throw .badField("notify") }
        self = notify
    }
}
