import PosternCore
/// The state of one expansion: a depth-first walk over aliases and include
/// files. The stack of nodes being expanded finds loops; each finished
/// node's height (the longest chain below it) lets a node reached again be
/// skipped, so a table shaped like a diamond is walked once per name and
/// not once per path, while a chain too deep is still refused.
struct AliasExpansionWalk {
    private enum Node: Hashable {
        case alias(String)
        case include(String)

        var label: String {
            switch self {
            case .alias(let name): return name
            case .include(let path): return ":include:" + path
            }
        }
    }

    /// The caller's include error, as text for the logs.
    struct ReadFailure: Error {
        var reason: String
    }

    /// Where a target was listed: the alias (nil for the recipient itself)
    /// and the include file, if any.
    private struct Context {
        var alias: String?
        var includeFile: String?
    }

    let table: AliasTable
    let readInclude: (String) -> Result<String, ReadFailure>
    let isLocalUser: (String) -> Bool
    let isLocalDomain: (String) -> Bool

    private var stack: [Node] = []
    private var heights: [Node: Int] = [:]
    /// Aliases and include files entered so far, for the size bound.
    private var opened = 0
    private var deliveries: [AliasDelivery] = []
    private var seen: Set<AliasDestination> = []
    private var problems: [MapProblem] = []
    private var includeFailures: [AliasIncludeFailure] = []

    init(
        table: AliasTable, readInclude: @escaping (String) -> Result<String, ReadFailure>,
        isLocalUser: @escaping (String) -> Bool, isLocalDomain: @escaping (String) -> Bool
    ) {
        self.table = table
        self.readInclude = readInclude
        self.isLocalUser = isLocalUser
        self.isLocalDomain = isLocalDomain
    }

    mutating func run(_ recipient: String) -> AliasExpansion {
        do throws(AliasExpansionError) {
            _ = try resolveName(recipient, in: Context())
        } catch {
            return AliasExpansion(outcome: .failure(error), problems: problems, includeFailures: includeFailures)
        }
        let deliverable = deliveries.contains { delivery in
            if case .unknown = delivery.destination { return false }
            return true
        }
        let outcome: Result<[AliasDelivery], AliasExpansionError>
        if !deliverable, let failure = includeFailures.first {
            outcome = .failure(.includeFailed(path: failure.path, reason: failure.reason))
        } else if deliveries.isEmpty {
            outcome = .failure(.noDestinations(AliasName.key(recipient)))
        } else {
            outcome = .success(deliveries)
        }
        return AliasExpansion(outcome: outcome, problems: problems, includeFailures: includeFailures)
    }

    // MARK: - Targets

    /// Resolves one target; returns the height of the chain below it.
    private mutating func resolve(_ target: AliasTarget, in context: Context) throws(AliasExpansionError) -> Int {
        switch target {
        case .name(let name): return try resolveName(name, in: context)
        case .verbatimUser(let user): try deliverToLocal(user, in: context)
        case .address(let address):
            if let at = address.lastIndex(of: "@"), isLocalDomain(String(address[address.index(after: at)...])) {
                return try resolveName(String(address[..<at]), in: context)
            }
            try add(.remote(address), in: context)
        case .pipe(let command): try add(.pipe(command: command), in: context)
        case .file(let path): try add(.file(path: path), in: context)
        case .maildir(let path): try add(.maildir(path: path), in: context)
        case .include(let path): return try expandInclude(path, in: context)
        }
        return 0
    }

    /// A name: itself when it names the alias it is listed in, else its
    /// alias, else the built-in postmaster default, else a local user.
    private mutating func resolveName(_ name: String, in context: Context) throws(AliasExpansionError) -> Int {
        let key = AliasName.key(name)
        if key == context.alias {
            try deliverToLocal(name, in: context)
            return 0
        }
        if let entry = table.entry(named: key) {
            return try expand(.alias(key), in: context) { walk, _ throws(AliasExpansionError) in
                try walk.resolveAll(entry.targets, in: Context(alias: key, includeFile: nil))
            }
        }
        if AliasExpander.alwaysResolved.contains(key) {
            return try expand(.alias(key), in: context) { walk, _ throws(AliasExpansionError) in
                if walk.table.entry(named: "root") != nil {
                    return try walk.resolveName("root", in: Context(alias: key, includeFile: nil))
                }
                try walk.add(.localUser("root"), in: Context(alias: key, includeFile: nil))
                return 0
            }
        }
        try deliverToLocal(name, in: context)
        return 0
    }

    /// Reads an include file through the caller and resolves its targets.
    private mutating func expandInclude(_ path: String, in context: Context) throws(AliasExpansionError) -> Int {
        try expand(.include(path), in: context) { walk, context throws(AliasExpansionError) in
            let text: String
            switch walk.readInclude(path) {
            case .success(let read): text = read
            case .failure(let failure):
                walk.includeFailures.append(
                    AliasIncludeFailure(path: path, reason: failure.reason, alias: context.alias))
                return 0
            }
            let (list, listProblems) = AliasesFile.parseTargetList(text: text, file: path)
            walk.problems += listProblems
            switch list {
            case .success(let targets):
                return try walk.resolveAll(targets, in: Context(alias: context.alias, includeFile: path))
            case .failure(let error):
                walk.includeFailures.append(
                    AliasIncludeFailure(path: path, reason: error.description, alias: context.alias))
                return 0
            }
        }
    }

    // MARK: - The walk

    /// Expands `node` once: refuses a loop or an over-deep chain, skips a
    /// node already finished, and records the height of a new one.
    private mutating func expand(
        _ node: Node, in context: Context,
        body: (inout AliasExpansionWalk, Context) throws(AliasExpansionError) -> Int
    ) throws(AliasExpansionError) -> Int {
        if let start = stack.firstIndex(of: node) {
            throw .loop(stack[start...].map(\.label) + [node.label])
        }
        if let height = heights[node] {
            guard stack.count + height <= AliasExpander.maximumDepth else {
                throw .tooDeep(stack.map(\.label) + [node.label])
            }
            return height
        }
        guard stack.count < AliasExpander.maximumDepth else { throw .tooDeep(stack.map(\.label) + [node.label]) }
        guard opened < AliasExpander.maximumExpansions else { throw .tooLarge(limit: AliasExpander.maximumExpansions) }
        opened += 1
        stack.append(node)
        let below = try body(&self, context)
        stack.removeLast()
        heights[node] = below + 1
        return below + 1
    }

    /// Resolves targets in order; returns the tallest chain below them.
    private mutating func resolveAll(_ targets: [AliasTarget], in context: Context) throws(AliasExpansionError) -> Int {
        var tallest = 0
        for target in targets {
            tallest = max(tallest, try resolve(target, in: context))
        }
        return tallest
    }

    /// A local user, exact name first, then lower case (user names are
    /// case-sensitive, as in `LocalUsers`); otherwise unknown.
    private mutating func deliverToLocal(_ name: String, in context: Context) throws(AliasExpansionError) {
        let plain = AliasQuoting.unquoted(Substring(name)) ?? name
        if isLocalUser(plain) {
            try add(.localUser(plain), in: context)
        } else if plain.lowercased() != plain && isLocalUser(plain.lowercased()) {
            try add(.localUser(plain.lowercased()), in: context)
        } else {
            try add(.unknown(plain), in: context)
        }
    }

    /// Keeps the first of equal destinations, with its origin.
    private mutating func add(_ destination: AliasDestination, in context: Context) throws(AliasExpansionError) {
        guard seen.insert(destination).inserted else { return }
        guard deliveries.count < AliasExpander.maximumDestinations else {
            throw .tooLarge(limit: AliasExpander.maximumDestinations)
        }
        deliveries.append(AliasDelivery(destination, alias: context.alias, includeFile: context.includeFile))
    }
}
