/// The right-hand side of an access-map line: what to do with a client,
/// sender or recipient whose key matched. The keywords and error forms are
/// Sendmail's (cf/README, FEATURE(access_db)) so that an existing access
/// file keeps its meaning.
public enum AccessAction: Equatable, Sendable, CustomStringConvertible {
    /// Accept, even where another check would refuse; never allows relaying.
    case ok
    /// Accept, and allow relaying from this client or to this domain.
    case relay
    /// Refuse with the generic "Access denied" reply.
    case reject
    /// Accept and silently drop (the whole message for a client or sender,
    /// that recipient only for a recipient).
    case discard
    /// Stop searching this key's family (shorter prefixes, parent domains)
    /// without a decision, to carve an exception out of a wider entry.
    case skip
    /// Refuse with this reply.
    case error(code: Int, enhanced: String, text: String)

    /// The reply a REJECT or a bare `ERROR:` gives when it names nothing.
    public static let defaultErrorCode = 550
    public static let defaultEnhancedCode = "5.7.1"
    public static let defaultErrorText = "Access denied"

    public var description: String {
        switch self {
        case .ok: return "OK"
        case .relay: return "RELAY"
        case .reject: return "REJECT"
        case .discard: return "DISCARD"
        case .skip: return "SKIP"
        case .error(let code, let enhanced, let text): return "ERROR:\(enhanced):\(code) \(text)"
        }
    }

    /// Parses a value: `OK`, `RELAY`, `REJECT`, `DISCARD`, `SKIP` (any case),
    /// `ERROR:D.S.N:### text`, `ERROR:### text`, `ERROR:"### D.S.N text"`,
    /// `ERROR:"D.S.N text"`, or a bare `### text`. Anything else is refused
    /// rather than guessed at: a misspelt `RELEY` must not silently become a
    /// decision nobody wrote.
    static func parse(_ value: Substring) throws(AccessMapError) -> AccessAction {
        let trimmed = value.trimmingMapBlanks
        switch trimmed.lowercased() {
        case "ok": return .ok
        case "relay": return .relay
        case "reject": return .reject
        case "discard": return .discard
        case "skip": return .skip
        default: break
        }
        if trimmed.count >= 6, trimmed.prefix(6).lowercased() == "error:" {
            return try parseError(trimmed.dropFirst(6), original: trimmed)
        }
        if let first = trimmed.first, first.isASCII, first.isNumber {
            return try parseError(trimmed, original: trimmed)
        }
        throw .unknownAction(String(trimmed.prefix(64)))
    }

    /// The reply part of an error action. Code, enhanced code and text are
    /// each optional; what is missing comes from the defaults, with the
    /// enhanced code's class following the reply code's (a `451` gets
    /// `4.7.1`, not a contradictory `5.7.1`).
    private static func parseError(_ spec: Substring, original: Substring) throws(AccessMapError) -> AccessAction {
        var rest = try unquote(spec.trimmingMapBlanks, original: original)
        var enhanced: String?
        var code: Int?
        if let (dsn, after) = MapReplySpec.leadingEnhancedCode(rest), after.first == ":" {
            enhanced = dsn
            rest = try unquote(after.dropFirst().trimmingMapBlanks, original: original)
        }
        if let (number, after) = MapReplySpec.leadingReplyCode(rest) {
            code = number
            rest = after.trimmingMapBlanks
        }
        if enhanced == nil, let (dsn, after) = MapReplySpec.leadingEnhancedCode(rest),
            after.isEmpty || after.first == " "
        {
            enhanced = dsn
            rest = after.trimmingMapBlanks
        }
        if code == nil, MapReplySpec.startsWithMalformedCode(rest) {
            throw .invalidErrorCode(String(original.prefix(64)))
        }
        guard MapReplySpec.isReplyText(rest) else { throw .invalidReplyText }
        let finalCode: Int
        let finalEnhanced: String
        switch (code, enhanced) {
        case (let code?, let enhanced?):
            guard enhanced.first == String(code / 100).first else {
                throw .mismatchedErrorClass(code: code, enhanced: enhanced)
            }
            (finalCode, finalEnhanced) = (code, enhanced)
        case (let code?, nil):
            (finalCode, finalEnhanced) = (code, "\(code / 100).7.1")
        case (nil, let enhanced?):
            (finalCode, finalEnhanced) = (enhanced.hasPrefix("4") ? 451 : defaultErrorCode, enhanced)
        case (nil, nil):
            (finalCode, finalEnhanced) = (defaultErrorCode, defaultEnhancedCode)
        }
        return .error(code: finalCode, enhanced: finalEnhanced, text: rest.isEmpty ? defaultErrorText : String(rest))
    }

    private static func unquote(_ text: Substring, original: Substring) throws(AccessMapError) -> Substring {
        guard let inner = MapReplySpec.unquoted(text) else { throw .unterminatedQuote(String(original.prefix(64))) }
        return inner
    }
}
