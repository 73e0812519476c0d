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
        if let (dsn, after) = leadingEnhancedCode(rest), after.first == ":" {
            enhanced = dsn
            rest = try unquote(after.dropFirst().trimmingMapBlanks, original: original)
        }
        if let (number, after) = leadingReplyCode(rest) {
            code = number
            rest = after.trimmingMapBlanks
        }
        if enhanced == nil, let (dsn, after) = leadingEnhancedCode(rest), after.isEmpty || after.first == " " {
            enhanced = dsn
            rest = after.trimmingMapBlanks
        }
        if code == nil,
            let token = rest.split(separator: " ").first,
            token.allSatisfy({ ($0.isASCII && $0.isNumber) || $0 == "." || $0 == ":" })
        {
            throw .invalidErrorCode(String(original.prefix(64)))
        }
        // RFC 5321 textstring: HT and printable ASCII. Anything else would
        // reach the client's reply verbatim.
        guard rest.unicodeScalars.allSatisfy({ $0.value == 0x09 || (0x20..<0x7f).contains($0.value) }) else {
            throw .invalidReplyText
        }
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

    /// Removes one pair of surrounding double quotes, which Sendmail's
    /// documentation recommends around error texts.
    private static func unquote(_ text: Substring, original: Substring) throws(AccessMapError) -> Substring {
        guard text.first == "\"" else { return text }
        guard text.count >= 2, text.last == "\"" else { throw .unterminatedQuote(String(original.prefix(64))) }
        return text.dropFirst().dropLast().trimmingMapBlanks
    }

    /// A three-digit 4xx or 5xx reply code at the start, ended by a space or
    /// the end of the text. Any other three digits are an error, so that
    /// `ERROR:250 ok` cannot turn a refusal into an acceptance.
    private static func leadingReplyCode(_ text: Substring) -> (Int, Substring)? {
        let digits = text.prefix(while: { $0.isASCII && $0.isNumber })
        guard digits.count == 3, let value = Int(digits) else { return nil }
        let after = text.dropFirst(3)
        guard after.isEmpty || after.first == " " else { return nil }
        guard (400...599).contains(value) else { return nil }
        return (value, after)
    }

    /// An RFC 3463 enhanced code (`5.7.1`: class 4 or 5, then subject and
    /// detail of one to three digits) at the start of the text.
    private static func leadingEnhancedCode(_ text: Substring) -> (String, Substring)? {
        let candidate = text.prefix(while: { ($0.isASCII && $0.isNumber) || $0 == "." })
        let parts = candidate.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "4" || parts[0] == "5",
            (1...3).contains(parts[1].count), (1...3).contains(parts[2].count)
        else { return nil }
        return (String(candidate), text.dropFirst(candidate.count))
    }
}
