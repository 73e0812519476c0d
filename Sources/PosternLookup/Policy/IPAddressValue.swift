/// An IP address in the form the access map and the anti-relay checks
/// compare. Text is parsed here once, into numbers, because the same address
/// has many spellings (`::1`, `0:0:0:0:0:0:0:1`, `2001:DB8::`, `010.1.1.1`)
/// and comparing spellings is how an access list gets bypassed. Parsed by
/// hand rather than with inet_pton so that prefixes (`192.168`,
/// `IPv6:2001:db8`) share the code and nothing here touches libc.
enum IPAddressValue: Hashable, Sendable {
    case v4(UInt8, UInt8, UInt8, UInt8)
    /// Always eight groups. IPv4-mapped addresses (`::ffff:a.b.c.d`) are
    /// folded into `.v4`, so a dual-stack listener's client matches the
    /// IPv4 entries an administrator wrote.
    case v6([UInt16])

    /// A client address as a listener reports it: `192.0.2.1`, `2001:db8::1`,
    /// optionally bracketed, `IPv6:`-tagged or with a `%zone` (dropped).
    init?(text: some StringProtocol) {
        var body = Substring(text)
        if body.hasPrefix("["), body.hasSuffix("]") { body = body.dropFirst().dropLast() }
        if body.count > 5, body.prefix(5).lowercased() == "ipv6:" { body = body.dropFirst(5) }
        if let percent = body.firstIndex(of: "%") { body = body[..<percent] }
        if let octets = Self.octets(body, allowPrefix: false) {
            self = .v4(octets[0], octets[1], octets[2], octets[3])
        } else if let groups = Self.ipv6Groups(body) {
            self.init(groups: groups)
        } else {
            return nil
        }
    }

    /// An SMTP address literal as it follows the `@`: `[192.0.2.1]` or
    /// `[IPv6:2001:db8::1]` (RFC 5321 §4.1.3). Nothing else is a literal.
    init?(literal: some StringProtocol) {
        guard literal.first == "[", literal.last == "]" else { return nil }
        let inner = Substring(literal).dropFirst().dropLast()
        if inner.count > 5, inner.prefix(5).lowercased() == "ipv6:" {
            guard let groups = Self.ipv6Groups(inner.dropFirst(5)) else { return nil }
            self.init(groups: groups)
        } else if let octets = Self.octets(inner, allowPrefix: false) {
            self = .v4(octets[0], octets[1], octets[2], octets[3])
        } else {
            return nil
        }
    }

    /// From the eight groups `ipv6Groups` returns (the only source of
    /// them), folding IPv4-mapped addresses into IPv4.
    init(groups: [UInt16]) {
        if groups.count == 8, groups[0..<5].allSatisfy({ $0 == 0 }), groups[5] == 0xffff {
            self = .v4(
                UInt8(groups[6] >> 8), UInt8(groups[6] & 0xff), UInt8(groups[7] >> 8), UInt8(groups[7] & 0xff))
        } else {
            self = .v6(groups)
        }
    }

    /// The map keys this address matches, longest first: the address, then
    /// each shorter prefix down to one octet or one group, as Sendmail
    /// walks `192.168.1.5`, `192.168.1`, `192.168`, `192`.
    var accessKeys: [String] {
        switch self {
        case .v4(let a, let b, let c, let d):
            let octets = [a, b, c, d]
            return (1...4).reversed().map { Self.ipv4Key(octets.prefix($0)) }
        case .v6(let groups):
            return (1...8).reversed().map { Self.ipv6Key(groups.prefix($0)) }
        }
    }

    /// The canonical `[…]` spelling used inside `user@[literal]` keys, so a
    /// key and an address meet however either was written.
    var literalKey: String {
        switch self {
        case .v4(let a, let b, let c, let d): return "[\(a).\(b).\(c).\(d)]"
        case .v6(let groups): return "[ipv6:" + groups.map { String($0, radix: 16) }.joined(separator: ":") + "]"
        }
    }

    // MARK: - Keys

    /// Internal key spellings carry a namespace prefix so that an IP entry
    /// can never be reached through a host name: a client whose PTR record
    /// claims the name `192.168.1.5` must not match `192.168.1.5 RELAY`
    /// (Sendmail needs bracketed keys for that; here it cannot happen).
    static func ipv4Key(_ octets: some Collection<UInt8>) -> String {
        "ip4:" + octets.map { String($0) }.joined(separator: ".")
    }

    static func ipv6Key(_ groups: some Collection<UInt16>) -> String {
        "ip6:" + groups.map { String($0, radix: 16) }.joined(separator: ":")
    }

    // MARK: - Parsing

    /// `a.b.c.d`, or with `allowPrefix` one to four octets (`10`, `192.168`).
    /// Each octet is one to three decimal digits worth at most 255; leading
    /// zeros are read as decimal, never octal.
    static func octets(_ text: Substring, allowPrefix: Bool) -> [UInt8]? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard allowPrefix ? (1...4).contains(parts.count) : parts.count == 4 else { return nil }
        var octets: [UInt8] = []
        for part in parts {
            guard (1...3).contains(part.count), part.allSatisfy({ $0.isASCII && $0.isNumber }),
                let value = UInt8(part)
            else { return nil }
            octets.append(value)
        }
        return octets
    }

    /// A complete IPv6 address in RFC 4291 text form: eight groups, or
    /// fewer around one `::`, with an optional dotted IPv4 tail.
    static func ipv6Groups(_ text: Substring) -> [UInt16]? {
        guard !text.isEmpty, text.count <= 45 else { return nil }
        guard let gap = doubleColon(in: text) else {
            guard let groups = groupList(text, allowIPv4Tail: true), groups.count == 8 else { return nil }
            return groups
        }
        let rest = text[gap.upperBound...]
        guard doubleColon(in: rest) == nil, !rest.hasPrefix(":"), !text[..<gap.lowerBound].hasSuffix(":"),
            let head = groupList(text[..<gap.lowerBound], allowIPv4Tail: false),
            let tail = groupList(rest, allowIPv4Tail: true),
            head.count + tail.count <= 7
        else { return nil }
        return head + [UInt16](repeating: 0, count: 8 - head.count - tail.count) + tail
    }

    /// Where the first `::` is, if any.
    private static func doubleColon(in text: Substring) -> Range<Substring.Index>? {
        var index = text.startIndex
        while index < text.endIndex {
            let next = text.index(after: index)
            if next < text.endIndex, text[index] == ":", text[next] == ":" {
                return index..<text.index(after: next)
            }
            index = next
        }
        return nil
    }

    /// One to eight colon-separated groups without `::`: the `IPv6:2001:db8`
    /// prefix keys Sendmail uses.
    static func ipv6Prefix(_ text: Substring) -> [UInt16]? {
        guard doubleColon(in: text) == nil, let groups = groupList(text, allowIPv4Tail: false), !groups.isEmpty else {
            return nil
        }
        return groups.count <= 8 ? groups : nil
    }

    /// Colon-separated hex groups of one to four digits; the empty string is
    /// the empty list (one side of `::`).
    private static func groupList(_ text: Substring, allowIPv4Tail: Bool) -> [UInt16]? {
        guard !text.isEmpty else { return [] }
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        var groups: [UInt16] = []
        for (index, part) in parts.enumerated() {
            if allowIPv4Tail, index == parts.count - 1, part.contains(".") {
                guard let octets = octets(part, allowPrefix: false) else { return nil }
                groups.append(UInt16(octets[0]) << 8 | UInt16(octets[1]))
                groups.append(UInt16(octets[2]) << 8 | UInt16(octets[3]))
                continue
            }
            guard (1...4).contains(part.count), part.allSatisfy({ $0.isHexDigit && $0.isASCII }),
                let value = UInt16(part, radix: 16)
            else { return nil }
            groups.append(value)
        }
        return groups.count <= 8 ? groups : nil
    }
}
