/// Resolves a local part to a user of /etc/passwd. Exact first, then
/// lowercase: `Bob` reaches the user `Bob`, `ALICE` reaches `alice`, and no
/// other folding is done, because user names are case-sensitive and a
/// looser match could deliver to the wrong person.
struct LocalUsers: Sendable {
    /// RFC 5321 §4.5.1 requires `postmaster`; `mailer-daemon` is where
    /// replies to bounces go. Both reach root until aliases say otherwise,
    /// even before the user database is loaded.
    static let alwaysRoot: Set<String> = ["postmaster", "mailer-daemon"]

    let users: Set<String>

    func resolve(_ localPart: String) -> String? {
        let lower = localPart.lowercased()
        if Self.alwaysRoot.contains(lower) { return "root" }
        if users.contains(localPart) { return localPart }
        if users.contains(lower) { return lower }
        return nil
    }
}
