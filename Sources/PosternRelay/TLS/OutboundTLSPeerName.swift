import Glibc

/// The name the server must prove it holds, in the form OpenSSL needs. A
/// DNS name is sent as SNI and matched against the certificate's DNS names;
/// an address literal is matched against its IP addresses and never sent
/// as SNI (RFC 6066 allows host names only).
struct OutboundTLSPeerName: Equatable, Sendable {
    enum Kind: Equatable, Sendable {
        case dnsName
        case ipAddress
    }

    /// Lower case, without a trailing dot or address-literal brackets.
    let value: String
    let kind: Kind

    /// RFC 1035's limit on a name's text form.
    static let maximumLength = 253

    /// Accepts "mx.example.com", "mx.example.com.", "192.0.2.1", "2001:db8::1"
    /// and SMTP's address literals "[192.0.2.1]", "[IPv6:2001:db8::1]".
    init(_ text: String) throws(OutboundTLSError) {
        var name = Substring(text)
        if name.hasPrefix("[") && name.hasSuffix("]") && name.count >= 2 {
            name = name.dropFirst().dropLast()
            if name.lowercased().hasPrefix("ipv6:") { name = name.dropFirst(5) }
            guard Self.isAddress(name) else { throw .invalidPeerName(text) }
        } else if name.hasSuffix(".") {
            name = name.dropLast()
        }
        if Self.isAddress(name) {
            value = name.lowercased()
            kind = .ipAddress
        } else if Self.isHostName(name) {
            value = name.lowercased()
            kind = .dnsName
        } else {
            throw .invalidPeerName(text)
        }
    }

    private static func isAddress(_ text: Substring) -> Bool {
        var storage = in6_addr()
        let text = String(text)
        return inet_pton(AF_INET, text, &storage) == 1 || inet_pton(AF_INET6, text, &storage) == 1
    }

    /// Labels of letters, digits, hyphens (and underscores, which real MX
    /// names sometimes carry), 1 to 63 bytes each.
    private static func isHostName(_ name: Substring) -> Bool {
        guard !name.isEmpty, name.utf8.count <= maximumLength else { return false }
        return name.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
            !label.isEmpty && label.utf8.count <= 63
                && label.utf8.allSatisfy { byte in
                    switch byte {
                    case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                        UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"):
                        return true
                    default:
                        return false
                    }
                }
        }
    }
}
