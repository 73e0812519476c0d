/// The pieces of an error reply written in a map (the access map's
/// `ERROR:`, the virtusertable's and mailertable's `error:`): one reading
/// for all of them, so that a spelling one map accepts the others read the
/// same way.
enum MapReplySpec {
    /// A three-digit 4xx or 5xx reply code at the start, ended by a blank
    /// or the end of the text. Any other three digits are not a code, so
    /// that `ERROR:250 ok` cannot turn a refusal into an acceptance.
    static func leadingReplyCode(_ text: Substring) -> (Int, Substring)? {
        let digits = text.prefix(while: { $0.isASCII && $0.isNumber })
        guard digits.count == 3, let value = Int(digits), (400...599).contains(value) else { return nil }
        let after = text.dropFirst(3)
        guard after.isEmpty || after.first == " " || after.first == "\t" else { return nil }
        return (value, after)
    }

    /// An RFC 3463 enhanced code (`5.7.1`: class 4 or 5, then subject and
    /// detail of one to three digits) at the start of the text.
    static func leadingEnhancedCode(_ text: Substring) -> (String, Substring)? {
        let candidate = text.prefix(while: { ($0.isASCII && $0.isNumber) || $0 == "." })
        let parts = candidate.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "4" || parts[0] == "5",
            (1...3).contains(parts[1].count), (1...3).contains(parts[2].count)
        else { return nil }
        return (String(candidate), text.dropFirst(candidate.count))
    }

    /// RFC 5321 textstring: HT and printable ASCII. Anything else would
    /// reach the client's reply verbatim.
    static func isReplyText(_ text: Substring) -> Bool {
        text.unicodeScalars.allSatisfy { $0.value == 0x09 || (0x20..<0x7f).contains($0.value) }
    }

    /// What is left looks like a code that did not parse (`55 x`, `5.1:`):
    /// refused rather than sent as text.
    static func startsWithMalformedCode(_ text: Substring) -> Bool {
        guard let token = text.split(whereSeparator: { $0 == " " || $0 == "\t" }).first else { return false }
        return token.allSatisfy { ($0.isASCII && $0.isNumber) || $0 == "." || $0 == ":" }
    }

    /// The text inside one pair of surrounding double quotes (Sendmail's
    /// documentation puts error texts in quotes); nil for an unterminated
    /// quote.
    static func unquoted(_ text: Substring) -> Substring? {
        guard text.first == "\"" else { return text }
        guard text.count >= 2, text.last == "\"" else { return nil }
        return text.dropFirst().dropLast().trimmingMapBlanks
    }
}
