import PosternCore

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

// MARK: - on the wire

extension RouteHost: IPCPayload {
    public func encode(into w: inout ByteWriter) {
        w.string(name)
        w.list(addresses) { w, a in w.string(a) }
        w.u16(port)
    }

    public init(from r: inout ByteReader) throws(IPCDecodeError) {
        let name = try r.read(.routeHost)
        let addresses = try r.list("addresses", limit: IPCLimits.maxRouteHosts) { (r) throws(IPCDecodeError) in
            try r.read(.hostAddress)
        }
        self.init(name: name, addresses: addresses, port: try r.u16())
    }
}

extension RouteAnswer: IPCPayload {
    public func encode(into w: inout ByteWriter) {
        w.u8(outcome.rawValue)
        w.string(text)
        w.u8(tls.rawValue)
        w.list(hosts)
    }

    public init(from r: inout ByteReader) throws(IPCDecodeError) {
        guard let outcome = Outcome(rawValue: try r.u8()) else { throw .badField("outcome") }
        let text = try r.read(.text)
        guard let tls = TLSPolicy(rawValue: try r.u8()) else { throw .badField("tls") }
        let hosts: [RouteHost] = try r.list("hosts", limit: IPCLimits.maxRouteHosts)
        self.init(outcome: outcome, text: text, hosts: hosts, tls: tls)
    }
}
