import PosternCore
/// What expanding one recipient gave: the destinations, or the reason there
/// are none, plus what went wrong along the way without stopping it.
public struct AliasExpansion: Equatable, Sendable {
    /// The destinations, duplicates removed, in the order first reached.
    public var outcome: Result<[AliasDelivery], AliasExpansionError>
    /// Syntax problems of the `:include:` files read, as `file:line`.
    public var problems: [MapProblem]
    /// `:include:` files that could not be used. When other destinations
    /// remain they are still delivered to and these are only logged.
    public var includeFailures: [AliasIncludeFailure]

    public init(
        outcome: Result<[AliasDelivery], AliasExpansionError>, problems: [MapProblem] = [],
        includeFailures: [AliasIncludeFailure] = []
    ) {
        self.outcome = outcome
        self.problems = problems
        self.includeFailures = includeFailures
    }

    /// The destinations, or none when the expansion failed.
    public var deliveries: [AliasDelivery] {
        switch outcome {
        case .success(let deliveries): return deliveries
        case .failure: return []
        }
    }

    /// Just the destinations, for callers and tests that need no origins.
    public var destinations: [AliasDestination] { deliveries.map(\.destination) }
}

/// Why a recipient's expansion gave nothing to deliver to.
public enum AliasExpansionError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The names (and `:include:` files) of a loop, the first repeated at
    /// the end: `["a", "b", "a"]`.
    case loop([String])
    /// The chain that went deeper than `AliasExpander.maximumDepth`.
    case tooDeep([String])
    /// Every destination was an `:include:` file that could not be used
    /// (and at most unknown names besides).
    case includeFailed(path: String, reason: String)
    /// The expansion opened more than `AliasExpander.maximumExpansions`
    /// aliases and include files, or gave more than
    /// `AliasExpander.maximumDestinations` destinations.
    case tooLarge(limit: Int)
    /// The expansion ended with no destination at all (empty include files).
    case noDestinations(String)

    /// A loop or an over-deep chain stays so until the file is edited: a
    /// bounce (5.x). An unreadable include file is often being fixed, so
    /// the caller should defer (4.x) rather than bounce.
    public var isTemporary: Bool {
        if case .includeFailed = self { return true }
        return false
    }

    public var description: String {
        switch self {
        case .loop(let chain): return "alias loop: " + chain.joined(separator: " -> ")
        case .tooDeep(let chain):
            return "aliases nested deeper than \(AliasExpander.maximumDepth): " + chain.joined(separator: " -> ")
        case .includeFailed(let path, let reason): return "cannot use :include:\(path): \(reason)"
        case .tooLarge(let limit):
            return "alias expansion larger than \(limit) aliases, include files or destinations"
        case .noDestinations(let name): return "alias \"\(name)\" expands to no destination"
        }
    }
}

/// An `:include:` file that could not be read or was refused.
public struct AliasIncludeFailure: Hashable, Sendable {
    public var path: String
    public var reason: String
    /// The alias that named the file.
    public var alias: String?

    public init(path: String, reason: String, alias: String?) {
        self.path = path
        self.reason = reason
        self.alias = alias
    }
}
