/// The reply an `error:` value of a virtusertable or mailertable gives:
/// Sendmail's error mailer, read from the text after `error:`.
struct VirtualErrorReply: Equatable, Sendable {
    var enhanced: String
    var code: Int
    var text: String

    /// Parses what follows `error:`. The forms, as Sendmail's cf/README and
    /// its error mailer accept them:
    ///
    /// - `5.1.1:550 User unknown`: enhanced code, colon, reply code, text;
    /// - `nouser 550 User unknown` or `nouser User unknown`: a sysexits
    ///   name (see `SendmailErrorName`) for the enhanced code;
    /// - `550 User unknown`, `550 5.1.1 User unknown`: the reply alone,
    ///   optionally quoted.
    ///
    /// An enhanced code inside the reply text wins over the one before the
    /// colon or from the name, as in Sendmail. A missing reply code follows
    /// the enhanced code's class (550 or 451); a missing enhanced code is
    /// the class alone (`5.0.0`, `4.0.0`), which is what Sendmail sends for
    /// a reply that names none. Anything else is refused: a value that
    /// cannot be read must not become a reply nobody wrote, least of all a
    /// `250`.
    static func parse(_ spec: Substring) throws(VirtualMapError) -> VirtualErrorReply {
        var rest = spec.trimmingMapBlanks
        guard !rest.isEmpty else { throw .emptyErrorSpec }
        let original = String(rest.prefix(64))
        var enhanced: String?
        var defaultText: String?

        if let (dsn, after) = leadingEnhancedCode(rest), after.first == ":" {
            enhanced = dsn
            rest = after.dropFirst().trimmingMapBlanks
        } else if let first = rest.first, first.isASCII, first.isLetter {
            let word = rest.prefix(while: { $0 != " " && $0 != "\t" })
            guard let name = SendmailErrorName(rawValue: word.lowercased()) else {
                throw .unknownErrorName(String(word.prefix(64)))
            }
            enhanced = name.enhancedCode
            defaultText = name.defaultText
            rest = rest.dropFirst(word.count).trimmingMapBlanks
        }

        rest = try unquote(rest, original: original)
        var code: Int?
        if let (number, after) = leadingReplyCode(rest) {
            code = number
            rest = after.trimmingMapBlanks
        }
        if let (dsn, after) = leadingEnhancedCode(rest), after.isEmpty || after.first == " " || after.first == "\t" {
            enhanced = dsn
            rest = after.trimmingMapBlanks
        }
        if let token = rest.split(whereSeparator: { $0 == " " || $0 == "\t" }).first,
            token.allSatisfy({ ($0.isASCII && $0.isNumber) || $0 == "." || $0 == ":" })
        {
            throw .invalidErrorCode(original)
        }
        // RFC 5321 textstring: HT and printable ASCII; anything else would
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
            (finalCode, finalEnhanced) = (code, "\(code / 100).0.0")
        case (nil, let enhanced?):
            (finalCode, finalEnhanced) = (enhanced.hasPrefix("4") ? 451 : 550, enhanced)
        case (nil, nil):
            throw .invalidErrorCode(original)
        }
        let text = rest.isEmpty ? (defaultText ?? Self.defaultText(code: finalCode)) : String(rest)
        return VirtualErrorReply(enhanced: finalEnhanced, code: finalCode, text: text)
    }

    private static func defaultText(code: Int) -> String {
        code < 500 ? "Temporary failure, try again later" : "Address rejected"
    }

    /// Removes one pair of surrounding double quotes, which Sendmail's
    /// documentation puts around error texts.
    private static func unquote(_ text: Substring, original: String) throws(VirtualMapError) -> Substring {
        guard text.first == "\"" else { return text }
        guard text.count >= 2, text.last == "\"" else { throw .unterminatedQuote(original) }
        return text.dropFirst().dropLast().trimmingMapBlanks
    }

    /// Three digits at the start, ended by a blank or the end. Three digits
    /// that are not 4xx or 5xx are an error, so that `error:250 ok` cannot
    /// turn a refusal into an acceptance.
    private static func leadingReplyCode(_ text: Substring) -> (Int, Substring)? {
        let digits = text.prefix(while: { $0.isASCII && $0.isNumber })
        guard digits.count == 3, let value = Int(digits), (400...599).contains(value) else { return nil }
        let after = text.dropFirst(3)
        guard after.isEmpty || after.first == " " || after.first == "\t" else { return nil }
        return (value, after)
    }

    /// An RFC 3463 enhanced code (class 4 or 5, then subject and detail of
    /// one to three digits) at the start of the text.
    private static func leadingEnhancedCode(_ text: Substring) -> (String, Substring)? {
        let candidate = text.prefix(while: { ($0.isASCII && $0.isNumber) || $0 == "." })
        let parts = candidate.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "4" || parts[0] == "5",
            (1...3).contains(parts[1].count), (1...3).contains(parts[2].count)
        else { return nil }
        return (String(candidate), text.dropFirst(candidate.count))
    }
}
