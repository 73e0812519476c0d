import PosternAliases
import PosternCore
import PosternIPC

/// What a user's `.forward` makes of a message to that user: each entry
/// becomes a recipient the queue adds, delivered as the user (pipes and
/// files run with the user's rights, never more). Pure, so the rules are
/// tested without files.
enum ForwardMembers {
    /// The longest `.forward` read; a longer one is ignored as a mistake.
    static let maxFileSize = 64 << 10

    /// - Parameters:
    ///   - targets: the file's entries, parsed as an `:include:` list.
    ///   - user: the user whose file it is.
    ///   - home: that user's home, for `~/` paths.
    ///   - address: the recipient being forwarded (pipes and files keep it
    ///     as their address, for logs and DSNs).
    ///   - hostname: this host, to write local names as addresses.
    /// - Returns: the members, and what was skipped and why.
    static func members(
        _ targets: [AliasTarget], user: String, home: String, address: String, hostname: String
    ) -> ([ExpandedRecipient], [String]) {
        var members: [ExpandedRecipient] = []
        var skipped: [String] = []
        for target in targets {
            switch target {
            case .name(let name), .verbatimUser(let name):
                // The user's own name is the mailbox (Sendmail's `\user` or
                // a plain `user` in one's own .forward): no loop.
                if name == user || name.lowercased() == user.lowercased() {
                    members.append(ExpandedRecipient(address: address, localUser: user, target: .mailbox))
                } else if case .verbatimUser = target {
                    members.append(ExpandedRecipient(address: name + "@" + hostname, localUser: name, target: .mailbox))
                } else {
                    // Another local name: routed by the lookup like any
                    // address, so an alias or a virtual name works too.
                    members.append(ExpandedRecipient(address: name + "@" + hostname, localUser: "", target: .name))
                }
            case .address(let remote):
                members.append(ExpandedRecipient(address: remote, localUser: "", target: .name))
            case .pipe(let command):
                members.append(ExpandedRecipient(address: address, localUser: user, target: .pipe(command)))
            case .file(let path), .maildir(let path):
                members.append(
                    ExpandedRecipient(address: address, localUser: user, target: .file(Self.expandHome(path, home))))
            case .include(let path):
                // A user's file may not pull in other files read with the
                // delivery's rights (Sendmail allows it; nothing needs it).
                skipped.append(":include:\(path) (not allowed in .forward)")
            }
        }
        return (members, skipped)
    }

    /// `~/x` is `x` under the home; anything else stays as written.
    static func expandHome(_ path: String, _ home: String) -> String {
        guard path.hasPrefix("~/") else { return path }
        return (home.hasSuffix("/") ? String(home.dropLast()) : home) + "/" + path.dropFirst(2)
    }
}
