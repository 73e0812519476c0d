/// Why a DNS lookup gave no answer. Typed so that callers can tell a
/// definite "no such name" (NXDOMAIN, which a DNSBL reads as "not listed")
/// from a failure they must treat as temporary (fail open, or defer).
public enum DNSError: Error, Equatable, Sendable {
    /// NXDOMAIN: the name does not exist. Definite; never retried.
    case nameError
    /// Any other non-zero RCODE (SERVFAIL, REFUSED, …) from every server tried.
    case serverFailure(rcode: UInt8)
    /// No matching answer arrived in time from any server.
    case timeout
    /// A reply that matched our query but did not decode. The text is ours,
    /// never bytes from the packet, so it is safe to log.
    case malformed(String)
    /// A name or address we refuse to put on the wire. The text is escaped.
    case badName(String)
    /// The resolver has no usable server address.
    case noServers
    /// A socket call failed.
    case io(errno: Int32)
}
