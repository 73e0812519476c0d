import PosternCore

/// The access map's problems are map problems; the name is what callers of
/// `AccessMap.parse` look for.
public typealias AccessMapProblem = MapProblem

/// Why one access-map line was refused. Typed so the parser's pieces can
/// throw precisely and the line loop turns each into a `MapProblem`.
public enum AccessMapError: Error, Equatable, Sendable, CustomStringConvertible {
    case missingAction(key: String)
    case unknownAction(String)
    case invalidErrorCode(String)
    case mismatchedErrorClass(code: Int, enhanced: String)
    case unterminatedQuote(String)
    case invalidReplyText
    case emptyKey
    case invalidIPAddress(String)
    case invalidDomain(String)
    case invalidAddressKey(String)
    case addressKeyNeedsFromOrTo(String)
    case nullSenderKeyNeedsFrom(String)
    case bareIPv6Key(String)

    public var description: String {
        switch self {
        case .missingAction(let key): return "no action for key \"\(key)\""
        case .unknownAction(let value): return "unknown action \"\(value)\""
        case .invalidErrorCode(let value): return "invalid reply code in \"\(value)\" (expected 4xx or 5xx, D.S.N)"
        case .mismatchedErrorClass(let code, let enhanced):
            return "reply code \(code) and enhanced code \(enhanced) disagree on the class"
        case .unterminatedQuote(let value): return "unterminated quote in \"\(value)\""
        case .invalidReplyText: return "the reply text must be printable ASCII"
        case .emptyKey: return "empty key"
        case .invalidIPAddress(let key): return "invalid IP address or prefix \"\(key)\""
        case .invalidDomain(let key): return "invalid host or domain name \"\(key)\""
        case .invalidAddressKey(let key):
            return "invalid address key \"\(key)\" (use user@domain, user@ or the domain alone)"
        case .addressKeyNeedsFromOrTo(let key): return "address key \"\(key)\" applies only to From: and To:"
        case .nullSenderKeyNeedsFrom(let key): return "key \"\(key)\" (the null sender) applies only to From:"
        case .bareIPv6Key(let key): return "IPv6 key \"\(key)\" must be written IPv6:\(key)"
        }
    }
}
