import Glibc

/// A name server to ask: an IP literal, since the lookup process cannot
/// resolve a name to find its resolver.
public struct DNSServer: Equatable, Sendable {
    public var host: String
    public var port: UInt16

    public init(host: String, port: UInt16 = 53) {
        self.host = host
        self.port = port
    }
}

/// A blocking stub resolver for the lookup process. It runs chrooted with no
/// /etc/resolv.conf and answers from IPC threads that already block, so it
/// does plain synchronous socket I/O: no event loop, no Foundation, no
/// shared state between queries (each opens its own socket, and the kernel
/// picks a fresh random source port for it).
///
/// A reply is only believed when it comes from the server's address (the
/// socket is connected), carries our random ID and repeats our question;
/// anything else is dropped and the wait goes on.
public final class DNSResolver: Sendable {
    public let servers: [DNSServer]
    /// Per try, for each server: the worst case is
    /// `timeout × attempts × servers.count`.
    public let timeout: Double
    public let attempts: Int
    private let endpoints: [DNSEndpoint]

    /// Servers whose host is not an IP literal are left out; with none left,
    /// every query throws `.noServers`.
    public init(servers: [DNSServer], timeout: Double = 5, attempts: Int = 2) {
        self.servers = servers
        self.timeout = timeout.isFinite ? min(max(timeout, 0.001), 300) : 5
        self.attempts = min(max(attempts, 1), 10)
        self.endpoints = servers.compactMap { server in
            IPAddressText.parse(server.host).map { DNSEndpoint(address: $0, port: server.port) }
        }
    }

    /// Sends a query (random 16-bit id from SystemRandomNumberGenerator, RD
    /// set), waits for the matching answer: same id, same question, from the
    /// server's address (connected UDP socket), ignoring anything else;
    /// retries over the servers; falls back to TCP when the answer is
    /// truncated. Answers with rcode NXDOMAIN throw `.nameError`; NOERROR
    /// with no answers returns an empty list (NODATA). Any other rcode moves
    /// on to the next server, and is thrown if no server does better.
    public func query(_ name: String, _ type: DNSRecordType) throws(DNSError) -> DNSResponse {
        try query(name, type: type.rawValue)
    }

    func query(_ name: String, type: UInt16) throws(DNSError) -> DNSResponse {
        let labels = try DNSName.labels(of: name)
        let question = DNSQuestion(name: DNSName.text(of: labels), type: type, qclass: DNSMessage.classIN)
        guard !endpoints.isEmpty else { throw .noServers }
        var lastError = DNSError.timeout
        var random = SystemRandomNumberGenerator()
        for _ in 0..<attempts {
            for endpoint in endpoints {
                let id = UInt16.random(in: .min ... .max, using: &random)
                let packet = DNSMessage.query(id: id, labels: labels, type: type)
                do throws(DNSError) {
                    var message = try exchangeUDP(packet, id: id, question: question, with: endpoint)
                    if message.truncated {
                        message = try exchangeTCP(packet, id: id, question: question, with: endpoint)
                    }
                    if message.rcode == DNSMessage.rcodeNXDomain { throw DNSError.nameError }
                    guard message.rcode == 0 else { throw DNSError.serverFailure(rcode: message.rcode) }
                    return DNSResponse(
                        rcode: message.rcode, answers: message.answers, authoritative: message.authoritative,
                        truncated: message.truncated)
                } catch {
                    if error == .nameError { throw error }
                    lastError = error
                }
            }
        }
        throw lastError
    }

    /// MX hosts in the order to try them; equal preferences keep the
    /// server's order. An empty exchange is a null MX (RFC 7505).
    public func mx(_ domain: String) throws(DNSError) -> [(preference: UInt16, exchange: String)] {
        var hosts: [(preference: UInt16, exchange: String, index: Int)] = []
        for (index, data) in try records(domain, .mx).enumerated() {
            if case .mx(let preference, let exchange) = data { hosts.append((preference, exchange, index)) }
        }
        hosts.sort { ($0.preference, $0.index) < ($1.preference, $1.index) }
        return hosts.map { ($0.preference, $0.exchange) }
    }

    /// A then AAAA, as text. NXDOMAIN on the A query is thrown; an error on
    /// either query is thrown rather than giving half an answer.
    public func addresses(_ host: String) throws(DNSError) -> [String] {
        var result: [String] = []
        for type in [DNSRecordType.a, .aaaa] {
            for data in try records(host, type) {
                switch data {
                case .a(let bytes), .aaaa(let bytes):
                    if let text = IPAddressText.text(bytes) { result.append(text) }
                default:
                    break
                }
            }
        }
        return result
    }

    /// Reverse lookup in in-addr.arpa or ip6.arpa; an IPv4-mapped IPv6
    /// address is looked up as IPv4.
    public func ptr(_ ip: String) throws(DNSError) -> [String] {
        guard let reversed = IPAddressText.reversedLabels(ip) else { throw .badName(DNSName.escapedForLog(ip)) }
        let name = reversed.labels + (reversed.isIPv6 ? ".ip6.arpa" : ".in-addr.arpa")
        return try records(name, .ptr).compactMap { data in
            if case .ptr(let target) = data { return target }
            return nil
        }
    }

    /// One string per TXT record, its character-strings concatenated (as
    /// SPF and DNSBLs mean them).
    public func txt(_ name: String) throws(DNSError) -> [String] {
        try records(name, .txt).compactMap { data in
            if case .txt(let strings) = data { return strings.joined() }
            return nil
        }
    }

    /// The answers that belong to the question: records of the asked type
    /// owned by the name or by the end of its CNAME chain within the reply.
    /// Unrelated records a server slips into the answer section are dropped.
    func records(_ name: String, _ type: DNSRecordType) throws(DNSError) -> [DNSRecordData] {
        let response = try query(name, type)
        return Self.follow(response.answers, from: try DNSName.canonical(name), type: type.rawValue)
    }

    static func follow(_ answers: [DNSRecord], from name: String, type: UInt16) -> [DNSRecordData] {
        var owners: Set<String> = [name]
        var current = name
        for _ in 0..<8 {
            guard type != DNSRecordType.cname.rawValue,
                let alias = answers.first(where: { $0.name == current && $0.type == DNSRecordType.cname.rawValue }),
                case .cname(let target) = alias.data, !owners.contains(target)
            else { break }
            owners.insert(target)
            current = target
        }
        return answers.filter { $0.type == type && owners.contains($0.name) }.map(\.data)
    }

    // MARK: - Transport

    private func exchangeUDP(_ packet: [UInt8], id: UInt16, question: DNSQuestion, with endpoint: DNSEndpoint)
        throws(DNSError) -> DNSMessage
    {
        let socket = try DNSSocket(endpoint: endpoint, type: Int32(SOCK_DGRAM.rawValue))
        defer { socket.close() }
        let deadline = DNSDeadline(after: timeout)
        try socket.connect(to: endpoint, deadline: deadline)
        try socket.sendAll(packet, deadline: deadline)
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = try socket.receive(into: &buffer, deadline: deadline)
            let reply = Array(buffer[0..<count])
            guard let head = try? DNSMessage.decode(reply, records: false),
                Self.matches(head, id: id, question: question)
            else { continue }
            if head.truncated { return head }
            return try DNSMessage.decode(reply)
        }
    }

    /// RFC 1035 §4.2.2: the same query, each way prefixed by its length.
    private func exchangeTCP(_ packet: [UInt8], id: UInt16, question: DNSQuestion, with endpoint: DNSEndpoint)
        throws(DNSError) -> DNSMessage
    {
        let deadline = DNSDeadline(after: timeout)
        let socket = try DNSSocket(endpoint: endpoint, type: Int32(SOCK_STREAM.rawValue))
        defer { socket.close() }
        try socket.connect(to: endpoint, deadline: deadline)
        try socket.sendAll([UInt8(packet.count >> 8), UInt8(packet.count & 0xFF)] + packet, deadline: deadline)
        let prefix = try socket.receiveExactly(2, deadline: deadline)
        let length = Int(prefix[0]) << 8 | Int(prefix[1])
        let reply = try socket.receiveExactly(length, deadline: deadline)
        let message = try DNSMessage.decode(reply)
        guard Self.matches(message, id: id, question: question) else {
            throw .malformed("TCP answer does not match the query")
        }
        return message
    }

    static func matches(_ message: DNSMessage, id: UInt16, question: DNSQuestion) -> Bool {
        message.isResponse && message.opcode == 0 && message.id == id && message.question == question
    }
}
