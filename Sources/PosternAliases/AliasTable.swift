/// The aliases map, built once per (re)load and then only read: a
/// dictionary from the lower-case name to its entry.
public struct AliasTable: Sendable {
    private var entries: [String: AliasEntry] = [:]

    /// The empty table: every name misses.
    public init() {}

    /// How many aliases the table holds, for the reload log.
    public var count: Int { entries.count }

    /// The names defined, sorted, for `postern check` style listings.
    public var names: [String] { entries.keys.sorted() }

    /// The entry for a name as a recipient or a target spells it (any case,
    /// quoted or not).
    public func entry(named name: String) -> AliasEntry? {
        entries[AliasName.key(name)]
    }

    /// Stores `entry` unless its name is taken; returns the entry already
    /// there, which is kept (the first definition wins).
    mutating func insertKeepingFirst(_ entry: AliasEntry) -> AliasEntry? {
        if let existing = entries[entry.name] { return existing }
        entries[entry.name] = entry
        return nil
    }
}

/// One alias: its name (lower case), its targets in file order, and the
/// line it starts on, for logs.
public struct AliasEntry: Equatable, Sendable {
    public var name: String
    public var targets: [AliasTarget]
    public var line: Int

    public init(name: String, targets: [AliasTarget], line: Int) {
        self.name = name
        self.targets = targets
        self.line = line
    }
}
