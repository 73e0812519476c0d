/// One right-hand-side item of an alias, as written: what the expander will
/// turn into deliveries. Kept apart from the final `AliasDestination`
/// because names and `:include:` files are not destinations yet.
public enum AliasTarget: Hashable, Sendable {
    /// A local name, expanded again through the table (or a local user).
    case name(String)
    /// `\user`: Sendmail's "deliver to this user, do not expand further",
    /// how an alias delivers to the user of the same name and elsewhere too.
    case verbatimUser(String)
    /// `user@domain`, kept as written.
    case address(String)
    /// `|command` or `"|command args"`; the command as written after `|`.
    case pipe(command: String)
    /// An absolute path (or `~/path`): append the message to the file.
    case file(path: String)
    /// A path ending in `/`: a Maildir.
    case maildir(path: String)
    /// `:include:/path`: a list of further targets read from that file.
    case include(path: String)

    /// Classifies one item already split off at the commas. `raw` is the
    /// item as written, quotes included, trimmed of blanks.
    static func parse(_ raw: Substring) throws(AliasSyntaxError) -> AliasTarget {
        let wholeQuoted = AliasQuoting.unquoted(raw)
        let content = wholeQuoted.map { Substring($0) } ?? raw
        if content.first == "|" {
            let command = content.dropFirst().trimmingMapBlanks
            guard !command.isEmpty else { throw .emptyPipe }
            return .pipe(command: String(command))
        }
        if content.lowercased().hasPrefix(":include:") {
            let pathText = content.dropFirst(":include:".count).trimmingMapBlanks
            let path = AliasQuoting.unquoted(pathText) ?? String(pathText)
            guard !path.isEmpty else { throw .emptyInclude }
            guard path.first == "/" else { throw .relativeInclude(path) }
            if wholeQuoted == nil && AliasQuoting.containsUnquotedBlank(pathText) { throw .blankInTarget(String(raw)) }
            return .include(path: path)
        }
        if wholeQuoted == nil && AliasQuoting.containsUnquotedBlank(raw) { throw .blankInTarget(String(raw)) }
        if content.first == "\\" {
            let user = String(content.dropFirst())
            guard !user.isEmpty else { throw .emptyVerbatimUser }
            try AliasName.validate(user)
            return .verbatimUser(user)
        }
        if content.first == "/" || content.hasPrefix("~/") {
            return content.last == "/" ? .maildir(path: String(content)) : .file(path: String(content))
        }
        if let at = content.lastIndex(of: "@") {
            let local = content[..<at]
            let domain = content[content.index(after: at)...]
            guard !local.isEmpty, !domain.isEmpty, !domain.contains("\"") else { throw .invalidAddress(String(raw)) }
            return .address(String(content))
        }
        try AliasName.validate(String(content))
        return .name(String(content))
    }
}
