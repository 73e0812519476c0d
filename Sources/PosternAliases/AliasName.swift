/// The rules for the left-hand side of an alias. Names are compared without
/// case (Sendmail and Postfix both fold them), so the table stores and is
/// searched by the lower-case key; a quoted name is the text inside the quotes.
enum AliasName {
    /// RFC 5321's limit on a local part; a longer name could never be the
    /// local part of an address we accept.
    static let maximumBytes = 64

    /// The table key for a name as a recipient or a target spells it:
    /// quotes taken off, lower case.
    static func key(_ name: some StringProtocol) -> String {
        let trimmed = Substring(name).trimmingMapBlanks
        return (AliasQuoting.unquoted(trimmed) ?? String(trimmed)).lowercased()
    }

    /// Reads the name written before the colon; returns its key.
    static func parse(_ written: Substring) throws(AliasSyntaxError) -> String {
        let trimmed = written.trimmingMapBlanks
        let name: String
        if trimmed.first == "\"" {
            guard let (inner, rest) = AliasQuoting.leadingQuoted(trimmed) else { throw .unterminatedQuote }
            guard rest.trimmingMapBlanks.isEmpty else { throw .textAfterQuotedName(String(rest.trimmingMapBlanks)) }
            name = inner
        } else {
            if trimmed.contains(where: { $0 == " " || $0 == "\t" }) { throw .blankInName(String(trimmed)) }
            if trimmed.contains("@") { throw .domainInName(String(trimmed)) }
            name = String(trimmed)
        }
        try validate(name)
        return name.lowercased()
    }

    /// Length and emptiness, shared by names and by local-name targets.
    static func validate(_ name: String) throws(AliasSyntaxError) {
        guard !name.isEmpty else { throw .emptyName }
        let bytes = name.utf8.count
        guard bytes <= maximumBytes else { throw .nameTooLong(name, bytes: bytes) }
    }
}
