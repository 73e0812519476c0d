import PosternCore
/// Sendmail's virtusertable (FEATURE(virtusertable)), read from its text
/// form: which addresses of virtual domains go to which local user or
/// remote address, or are refused. Built once per (re)load and then only
/// read, by several threads, so it is an immutable value of dictionaries:
/// a lookup is at most eight hash probes.
///
/// Matching follows Sendmail: domains are compared case-insensitively and
/// without a trailing dot. Local parts are compared as written first and
/// then in lower case (makemap lowercases keys unless given `-f`, so an
/// old file was case-insensitive; the exact try first lets `Alice@` and
/// `alice@` be told apart where a file means to).
public struct Virtusertable: Sendable {
    struct Entry: Sendable {
        var target: VirtusertableTarget
        var line: Int
    }

    /// Keyed by `VirtusertableKey.text`, local part as written.
    private var exact: [String: Entry] = [:]
    /// The same entries keyed in lower case; the first spelling wins.
    private var folded: [String: Entry] = [:]

    /// Every domain named by a key. Mail to them is ours to decide (the
    /// table answers or the recipient is unknown), so they count as local
    /// for the relay check; a virtual domain must not need a RELAY entry.
    public private(set) var domains: Set<String> = []

    /// The empty table.
    public init() {}

    /// How many entries the table holds, for the reload log.
    public var count: Int { exact.count }

    // MARK: - Parsing

    /// Reads a virtusertable. A bad line is skipped and reported with its
    /// line number, never costing the rest of the file; a key given twice
    /// keeps its last value, with a warning; past `maxEntries` the rest of
    /// the file is dropped with one problem.
    public static func parse(text: String, file: String) -> (Virtusertable, [MapProblem]) {
        var table = Virtusertable()
        var (lines, problems) = VirtualMapLines.read(text, file: file)
        for line in lines {
            do throws(VirtualMapError) {
                let key = try VirtusertableKey.parse(line.key)
                let entry = Entry(target: try VirtusertableTarget.parse(line.value), line: line.number)
                if table.exact[key.text] == nil, table.exact.count >= VirtualMapLines.maxEntries {
                    problems.append(VirtualMapLines.tooManyEntries(file: file, line: line.number))
                    break
                }
                if let previous = table.insert(entry, for: key) {
                    problems.append(
                        MapProblem(
                            file: file, line: line.number, severity: .warning,
                            message: "duplicate key \"\(key.text)\" (also on line \(previous.line)); the last one wins")
                    )
                }
            } catch {
                problems.append(
                    MapProblem(file: file, line: line.number, severity: .error, message: error.description))
            }
        }
        return (table, VirtualMapLines.inFileOrder(problems))
    }

    /// Stores an entry and returns the one it replaced.
    private mutating func insert(_ entry: Entry, for key: VirtusertableKey) -> Entry? {
        let text = key.text
        let previous = exact.updateValue(entry, forKey: text)
        let lower = text.lowercased()
        if folded[lower] == nil || folded[lower]?.line == previous?.line {
            folded[lower] = entry
        }
        domains.insert(key.domain)
        return previous
    }

    // MARK: - Lookup

    /// The entry for a recipient address, tried as Sendmail does:
    /// `user+detail@domain` exactly, then for a plussed address
    /// `user+*@domain` and `user@domain`, then `@domain`. The detail starts
    /// at the first `+` of the local part. nil when no entry matches,
    /// including for address literals and addresses that cannot be parsed.
    public func lookup(_ address: String) -> VirtualResult? {
        guard let parts = try? MailboxParts(address), case .name(let domain) = parts.domain else { return nil }
        let local = parts.localPart
        var user = local
        var detail = ""
        var keys = [local + "@" + domain]
        if let plus = local.firstIndex(of: "+"), plus != local.startIndex {
            user = String(local[..<plus])
            detail = String(local[local.index(after: plus)...])
            keys += [user + "+*@" + domain, user + "@" + domain]
        }
        keys.append("@" + domain)
        for key in keys {
            guard let entry = exact[key] ?? folded[key.lowercased()] else { continue }
            return Self.result(of: entry.target, user: user, detail: detail)
        }
        return nil
    }

    /// The target with the recipient's parts put in, checked again: the
    /// parts come from the client, not from the file.
    private static func result(of target: VirtusertableTarget, user: String, detail: String) -> VirtualResult {
        switch target {
        case .error(let reply):
            return .error(enhanced: reply.enhanced, code: reply.code, text: reply.text)
        case .local(let template):
            let name = template.render(user: user, detail: detail)
            return VirtualLocalUser.isValid(name) ? .local(name) : VirtualResult.badDestination
        case .address(let template):
            let address = template.render(user: user, detail: detail)
            return VirtualAddressCheck.isPlainRemoteAddress(address) ? .address(address) : VirtualResult.badDestination
        }
    }
}
