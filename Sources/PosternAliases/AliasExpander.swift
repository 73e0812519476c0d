/// Expands a local recipient through the aliases table into its final
/// destinations. Pure: the table is a value, the `:include:` files are read
/// by the caller's closure (as the right user, outside this code), and the
/// password database is asked through `isLocalUser`.
public enum AliasExpander {
    /// Sendmail's MAXRCRSN is 10 and Postfix's default nesting limit 1000;
    /// 20 allows any honest hierarchy of lists and still bounds the work.
    public static let maximumDepth = 20

    /// How many aliases and include files one expansion may open, and how
    /// many destinations it may give: each include file may name a
    /// thousand more, so depth alone does not bound the work.
    public static let maximumExpansions = 10_000
    public static let maximumDestinations = 10_000

    /// RFC 5321 §4.5.1 requires `postmaster`, and `mailer-daemon` is where
    /// replies to bounces go: both resolve even when the table does not
    /// define them, as if it said `postmaster: root`.
    public static let alwaysResolved: Set<String> = ["postmaster", "mailer-daemon"]

    /// Expands `recipient`, a local part of an address in a local domain
    /// (the caller has taken the domain off).
    ///
    /// - A name in the table is expanded again, recursively; a name that is
    ///   the alias it appears in (`root: root`), or one written `\user`, is
    ///   the local user and is not expanded further.
    /// - Loops (`a -> b -> a`) and chains deeper than `maximumDepth` fail
    ///   the whole expansion: the caller bounces.
    /// - An `:include:` file that cannot be read costs only its own branch:
    ///   the failure is recorded in `includeFailures` and the rest is
    ///   delivered; only when nothing deliverable remains does the
    ///   expansion fail, with `.includeFailed` (temporary: the caller defers).
    /// - `isLocalDomain` lets an alias target `user@localdomain` be expanded
    ///   as the local name `user`; without it every address is remote.
    public static func expand(
        _ recipient: String, table: AliasTable, include: (String) -> Result<String, some Error>,
        isLocalUser: (String) -> Bool, isLocalDomain: (String) -> Bool = { _ in false }
    ) -> AliasExpansion {
        withoutActuallyEscaping(include) { include in
            withoutActuallyEscaping(isLocalUser) { isLocalUser in
                withoutActuallyEscaping(isLocalDomain) { isLocalDomain in
                    var walk = AliasExpansionWalk(
                        table: table,
                        readInclude: { path in
                            include(path).mapError { AliasExpansionWalk.ReadFailure(reason: String(describing: $0)) }
                        },
                        isLocalUser: isLocalUser, isLocalDomain: isLocalDomain)
                    return walk.run(recipient)
                }
            }
        }
    }
}
