/// The tag in front of an access-map key, saying which check the entry is
/// for. An untagged entry is the fallback for every check (Sendmail's
/// backward compatibility); a tagged one applies to its check only.
public enum AccessTag: String, Equatable, Hashable, Sendable, CaseIterable {
    /// The connecting client: its IP address and host name.
    case connect = "Connect"
    /// The envelope sender (MAIL FROM).
    case from = "From"
    /// An envelope recipient (RCPT TO).
    case to = "To"
}

/// What shape of key an entry has, which decides the lookups it can answer.
public enum AccessKeyKind: Equatable, Sendable {
    /// An IPv4 or IPv6 address or prefix.
    case ipAddress
    /// A host or domain name; it matches the name and every name below it
    /// (or, written with a leading dot, only the names below it).
    case hostOrDomain
    /// `user@domain`.
    case address
    /// `user@`: that local part at any domain.
    case localPart
    /// `<>`: the null sender of bounces.
    case nullSender
}

/// A key from the left-hand side of an access-map line, normalized into the
/// one spelling lookups build, so that `Example.COM`, `example.com.`,
/// `IPv6:2001:DB8::1` and `IPv6:2001:db8:0:0:0:0:0:1` each meet their
/// lookups however they were written.
struct AccessKey: Equatable, Sendable {
    var tag: AccessTag?
    var kind: AccessKeyKind
    /// The dictionary key: IP keys carry an `ip4:`/`ip6:` namespace so that
    /// no host name can ever reach them.
    var normalized: String

    /// The result of reading a key: an entry to store, or a tag of
    /// Sendmail's that Postern does not implement (`Spam:`, `GreetPause:`,
    /// `TLS_Clt:`…), which is reported and skipped rather than misread.
    enum Parsed: Equatable {
        case key(AccessKey)
        case foreignTag(String)
    }

    static func parse(_ raw: Substring) throws(AccessMapError) -> Parsed {
        let lower = raw.lowercased()
        var tag: AccessTag?
        var body = Substring(lower)
        var key = raw
        for candidate in AccessTag.allCases {
            let prefix = candidate.rawValue.lowercased() + ":"
            if body.hasPrefix(prefix) {
                tag = candidate
                body = body.dropFirst(prefix.count)
                key = raw.dropFirst(prefix.count)
                break
            }
        }
        guard !body.isEmpty else { throw .emptyKey }
        let shown = String(key)

        if body == "<>" {
            guard tag == nil || tag == .from else { throw .nullSenderKeyNeedsFrom(shown) }
            return .key(AccessKey(tag: tag, kind: .nullSender, normalized: "<>"))
        }
        if body.first == "[" {
            guard let ip = IPAddressValue(literal: body) else { throw .invalidIPAddress(shown) }
            return .key(AccessKey(tag: tag, kind: .ipAddress, normalized: ip.accessKeys[0]))
        }
        if body.hasPrefix("ipv6:") {
            let text = body.dropFirst(5)
            if let groups = IPAddressValue.ipv6Prefix(text), groups.count < 8 {
                return .key(AccessKey(tag: tag, kind: .ipAddress, normalized: IPAddressValue.ipv6Key(groups)))
            }
            guard let groups = IPAddressValue.ipv6Groups(text) else { throw .invalidIPAddress(shown) }
            let ip = IPAddressValue(groups: groups)
            return .key(AccessKey(tag: tag, kind: .ipAddress, normalized: ip.accessKeys[0]))
        }
        // Checked before the address forms: Sendmail's other tags
        // (`Spam:abuse@`, `GreetPause:192.168`) hold `@`s and digits too.
        if let colon = body.firstIndex(of: ":") {
            if IPAddressValue(text: body) != nil || IPAddressValue.ipv6Prefix(body) != nil {
                throw .bareIPv6Key(shown)
            }
            let word = body[..<colon]
            if !word.isEmpty, word.allSatisfy({ $0.isASCII && ($0.isLetter || $0 == "_" || $0 == "-") }) {
                return .foreignTag(String(key.prefix(word.count)))
            }
        }
        if let at = body.lastIndex(of: "@") {
            guard tag != .connect else { throw .addressKeyNeedsFromOrTo(shown) }
            return .key(
                try addressKey(local: body[..<at], domain: body[body.index(after: at)...], tag: tag, key: shown))
        }
        if DomainName.looksNumeric(body) {
            guard let octets = IPAddressValue.octets(body, allowPrefix: true) else { throw .invalidIPAddress(shown) }
            return .key(AccessKey(tag: tag, kind: .ipAddress, normalized: IPAddressValue.ipv4Key(octets)))
        }
        let subdomainsOnly = body.first == "."
        guard let name = DomainName.normalize(subdomainsOnly ? body.dropFirst() : body) else {
            throw .invalidDomain(shown)
        }
        return .key(AccessKey(tag: tag, kind: .hostOrDomain, normalized: subdomainsOnly ? "." + name : name))
    }

    /// `user@domain`, `user@[literal]` or `user@`. A key with an empty local
    /// part (`@example.com`) is virtusertable syntax, not access syntax, and
    /// would otherwise never match: it is refused so the mistake is seen.
    private static func addressKey(
        local: Substring, domain: Substring, tag: AccessTag?, key: String
    ) throws(AccessMapError) -> AccessKey {
        guard !local.isEmpty, !local.contains(" "), !local.contains("\t") else { throw .invalidAddressKey(key) }
        if domain.isEmpty {
            return AccessKey(tag: tag, kind: .localPart, normalized: local + "@")
        }
        if domain.first == "[" {
            guard let ip = IPAddressValue(literal: domain) else { throw .invalidAddressKey(key) }
            return AccessKey(tag: tag, kind: .address, normalized: local + "@" + ip.literalKey)
        }
        guard let name = DomainName.normalize(domain) else { throw .invalidAddressKey(key) }
        return AccessKey(tag: tag, kind: .address, normalized: local + "@" + name)
    }
}
