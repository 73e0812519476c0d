import PosternAliases

/// Resolves a local part to an alias or a user of /etc/passwd. Aliases
/// first (Sendmail reads the aliases before the password database), by
/// their case-insensitive name; then users exact, then lowercase: `Bob`
/// reaches the user `Bob`, `ALICE` reaches `alice`, and no other folding
/// is done, because user names are case-sensitive and a looser match could
/// deliver to the wrong person. Local delivery expands an alias's name.
struct LocalUsers: Sendable {
    /// RFC 5321 §4.5.1 requires `postmaster`; `mailer-daemon` is where
    /// replies to bounces go. Both reach root unless the aliases name them,
    /// even before the user database is loaded.
    static let alwaysRoot: Set<String> = AliasExpander.alwaysResolved

    let users: Set<String>
    let aliases: AliasTable

    init(users: Set<String>, aliases: AliasTable = AliasTable()) {
        self.users = users
        self.aliases = aliases
    }

    func resolve(_ localPart: String) -> String? {
        let lower = localPart.lowercased()
        if let entry = aliases.entry(named: localPart), Self.isSafeName(entry.name) { return entry.name }
        if Self.alwaysRoot.contains(lower) { return "root" }
        if users.contains(localPart) { return localPart }
        if users.contains(lower) { return lower }
        return nil
    }

    /// An alias name travels as the recipient's local user until local
    /// delivery expands it; one that could not be a user name (a slash, a
    /// blank, a control character) is not accepted that way.
    private static func isSafeName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 64
            && name.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "/") }
    }
}
