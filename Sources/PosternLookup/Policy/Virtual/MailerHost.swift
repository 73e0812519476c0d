/// The host half of an `smtp:`, `esmtp:` or `relay:` mailertable value.
/// `host` means "look up its MX records"; `[host]`, `[192.0.2.1]` and
/// `[IPv6:2001:db8::1]` mean "connect to exactly this", optionally with
/// `:port` after the bracket. An IP address must be bracketed (an MX
/// lookup of `192.0.2.1` is a mistake, and an unbracketed IPv6 address
/// cannot be told from a port), and a port only follows a bracket, so
/// that every spelling has one reading.
struct MailerHost: Equatable, Sendable {
    var host: String
    var port: UInt16?
    var mxLookup: Bool

    static func parse(_ text: Substring) throws(VirtualMapError) -> MailerHost {
        let written = String(text.prefix(256))
        guard !text.isEmpty else { throw .missingHost(written) }
        guard !text.contains("@") else { throw .userInRoute(written) }
        guard text.first == "[" else {
            guard !text.contains(":") else {
                if IPAddressValue(text: text) != nil { throw .unbracketedIPAddress(written) }
                throw .invalidHost(written)
            }
            guard let name = DomainName.normalize(text) else { throw .invalidHost(written) }
            guard !DomainName.looksNumeric(name) else { throw .unbracketedIPAddress(written) }
            return MailerHost(host: name, port: nil, mxLookup: true)
        }
        guard let close = text.firstIndex(of: "]") else { throw .invalidHost(written) }
        let inner = text[text.index(after: text.startIndex)..<close]
        let after = text[text.index(after: close)...]
        var port: UInt16?
        if !after.isEmpty {
            let digits = after.dropFirst()
            guard after.first == ":", (1...5).contains(digits.count), digits.allSatisfy({ $0.isASCII && $0.isNumber }),
                let value = UInt16(digits), value > 0
            else { throw .invalidPort(written) }
            port = value
        }
        return MailerHost(host: try literalHost(inner, written: written), port: port, mxLookup: false)
    }

    /// The inside of the brackets: a host name, a dotted IPv4 address, or
    /// an `IPv6:`-tagged IPv6 address (the tag is RFC 5321's, and Sendmail's).
    private static func literalHost(_ inner: Substring, written: String) throws(VirtualMapError) -> String {
        if inner.count > 5, inner.prefix(5).lowercased() == "ipv6:" {
            guard IPAddressValue.ipv6Groups(inner.dropFirst(5)) != nil else { throw .invalidHost(written) }
            return inner.dropFirst(5).lowercased()
        }
        if DomainName.looksNumeric(inner) {
            guard IPAddressValue.octets(inner, allowPrefix: false) != nil else { throw .invalidHost(written) }
            return String(inner)
        }
        guard let name = DomainName.normalize(inner) else { throw .invalidHost(written) }
        return name
    }
}
