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

        if let (dsn, after) = MapReplySpec.leadingEnhancedCode(rest), after.first == ":" {
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
        if let (number, after) = MapReplySpec.leadingReplyCode(rest) {
            code = number
            rest = after.trimmingMapBlanks
        }
        if let (dsn, after) = MapReplySpec.leadingEnhancedCode(rest),
            after.isEmpty || after.first == " " || after.first == "\t"
        {
            enhanced = dsn
            rest = after.trimmingMapBlanks
        }
        if MapReplySpec.startsWithMalformedCode(rest) { throw .invalidErrorCode(original) }
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

    private static func unquote(_ text: Substring, original: String) throws(VirtualMapError) -> Substring {
        guard let inner = MapReplySpec.unquoted(text) else { throw .unterminatedQuote(original) }
        return inner
    }
}
