/// A virtusertable key: `user@domain`, `user+*@domain` (any detail of
/// `user`, Sendmail's plussed form) or `@domain` (the whole domain).
/// Domains are normalized (lower case, no trailing dot); the local part is
/// kept as written, because Sendmail's maps can be built case-sensitive
/// (`makemap -f`) and the exact spelling is tried first.
enum VirtusertableKey: Hashable, Sendable {
    case address(local: String, domain: String)
    case anyDetail(local: String, domain: String)
    case domain(String)

    var domain: String {
        switch self {
        case .address(_, let domain), .anyDetail(_, let domain), .domain(let domain): return domain
        }
    }

    /// The dictionary spelling, the same one `Virtusertable.lookup` builds
    /// from an address.
    var text: String {
        switch self {
        case .address(let local, let domain): return local + "@" + domain
        case .anyDetail(let local, let domain): return local + "+*@" + domain
        case .domain(let domain): return "@" + domain
        }
    }

    static func parse(_ key: Substring) throws(VirtualMapError) -> VirtusertableKey {
        guard let at = key.lastIndex(of: "@"),
            let domain = DomainName.normalize(key[key.index(after: at)...]),
            !DomainName.looksNumeric(domain)
        else { throw .invalidVirtualKey(String(key.prefix(256))) }
        let local = key[..<at]
        if local.isEmpty { return .domain(domain) }
        guard local.unicodeScalars.allSatisfy(isLocalPartScalar) else {
            throw .invalidVirtualKey(String(key.prefix(256)))
        }
        if local.hasSuffix("+*") {
            let user = local.dropLast(2)
            guard !user.isEmpty, !user.contains("+") else { throw .invalidVirtualKey(String(key.prefix(256))) }
            return .anyDetail(local: String(user), domain: domain)
        }
        return .address(local: String(local), domain: domain)
    }

    /// RFC 5322 atext and dots, plus non-ASCII for SMTPUTF8: the characters
    /// an unquoted local part can hold. Quoted keys are not supported; an
    /// `@` here would make `a@b@domain` a key that no address can mean.
    private static func isLocalPartScalar(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "a"..."z", "A"..."Z", "0"..."9": return true
        case "!", "#", "$", "%", "&", "'", "*", "+", "-", "/", "=", "?", "^", "_", "`", "{", "|", "}", "~", ".":
            return true
        default: return scalar.value >= 0xa0
        }
    }
}
