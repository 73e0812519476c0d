/// Double quotes in aliases files, as RFC 5322 quoted strings: they let a
/// target keep commas and blanks (`"|/usr/bin/vacation -a me"`), and a
/// backslash inside them takes the next character literally.
enum AliasQuoting {
    /// When `text` starts with a quoted string: its content (escapes undone)
    /// and what follows the closing quote. Nil when the quote is not closed.
    static func leadingQuoted(_ text: Substring) -> (String, Substring)? {
        guard text.first == "\"" else { return nil }
        var content = ""
        var escaped = false
        var index = text.index(after: text.startIndex)
        while index < text.endIndex {
            let character = text[index]
            if escaped {
                content.append(character)
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else if character == "\"" {
                return (content, text[text.index(after: index)...])
            } else {
                content.append(character)
            }
            index = text.index(after: index)
        }
        return nil
    }

    /// The content when `text` is exactly one quoted string, else nil.
    static func unquoted(_ text: Substring) -> String? {
        guard let (content, rest) = leadingQuoted(text), rest.isEmpty else { return nil }
        return content
    }

    /// Whether a blank occurs outside quotes: `a b` is two names missing a
    /// comma, `"a b"@example.com` is one address.
    static func containsUnquotedBlank(_ text: Substring) -> Bool {
        firstUnquoted(in: text) { $0 == " " || $0 == "\t" } != nil
    }

    /// The first character outside double quotes (a backslash escapes the
    /// next character inside them) that `matches` accepts.
    static func firstUnquoted(in text: Substring, where matches: (Character) -> Bool) -> Substring.Index? {
        var inQuote = false
        var escaped = false
        for index in text.indices {
            let character = text[index]
            if escaped {
                escaped = false
            } else if inQuote && character == "\\" {
                escaped = true
            } else if character == "\"" {
                inQuote.toggle()
            } else if !inQuote && matches(character) {
                return index
            }
        }
        return nil
    }
}
