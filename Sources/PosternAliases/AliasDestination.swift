/// Where a message finally goes after alias expansion.
public enum AliasDestination: Hashable, Sendable {
    /// A user of the password database: the mailbox delivery.
    case localUser(String)
    /// An address elsewhere, queued for the relay as written.
    case remote(String)
    /// A command to run with the message on its standard input.
    case pipe(command: String)
    /// A file to append the message to.
    case file(path: String)
    /// A Maildir (the path ends in `/`; `~/` is left for the caller).
    case maildir(path: String)
    /// A name that is no alias and no local user: the caller answers
    /// `550 5.1.1` for it, or logs it when other destinations remain.
    case unknown(String)
}

/// One destination with where it came from. Pipes and files written in the
/// aliases file must run as the configured default user, never root, and
/// those from an `:include:` file as that file's owner; the caller needs
/// the origin to apply that rule, so every destination carries it.
public struct AliasDelivery: Hashable, Sendable {
    public var destination: AliasDestination
    /// The alias whose entry (or `:include:` file) listed the destination,
    /// lower case; nil when the recipient was no alias at all.
    public var alias: String?
    /// The innermost `:include:` file the destination was read from.
    public var includeFile: String?

    public init(_ destination: AliasDestination, alias: String?, includeFile: String? = nil) {
        self.destination = destination
        self.alias = alias
        self.includeFile = includeFile
    }
}
