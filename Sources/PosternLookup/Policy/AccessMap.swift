import PosternCore
/// Sendmail's access map (FEATURE(access_db)), read from its text form: one
/// `KEY VALUE` per line, `#` comment lines, keys case-insensitive, optionally
/// tagged `Connect:`, `From:` or `To:`. Built once per (re)load and then only
/// read, by several threads, so it is an immutable value of dictionaries
/// keyed by the normalized key: every lookup is a handful of hash probes.
public struct AccessMap: Sendable {
    struct Entry: Sendable {
        var action: AccessAction
        var kind: AccessKeyKind
        /// The key as the file spelt it (with its tag), for logs.
        var written: String
        var line: Int

        func match(tag: AccessTag?) -> AccessMatch {
            AccessMatch(action: action, tag: tag, kind: kind, key: written, line: line)
        }
    }

    private var connect: [String: Entry] = [:]
    private var from: [String: Entry] = [:]
    private var to: [String: Entry] = [:]
    private var untagged: [String: Entry] = [:]

    /// The empty map: no entry, every lookup misses.
    public init() {}

    /// How many entries the map holds, for the reload log.
    public var count: Int { connect.count + from.count + to.count + untagged.count }

    // MARK: - Parsing

    /// Reads an access file. A bad line is skipped and reported with its
    /// line number; it never costs the rest of the file, because refusing a
    /// whole map over one typo would drop every RELAY and REJECT at once.
    /// A key given twice keeps its last value, with a warning.
    public static func parse(text: String, file: String) -> (AccessMap, [AccessMapProblem]) {
        var map = AccessMap()
        var problems: [AccessMapProblem] = []
        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
        for (index, line) in lines.enumerated() {
            let number = index + 1
            let trimmed = line.trimmingMapBlanks
            guard let first = trimmed.first, first != "#" else { continue }
            let keyText = trimmed.prefix(while: { $0 != " " && $0 != "\t" })
            let valueText = trimmed.dropFirst(keyText.count).trimmingMapBlanks
            do throws(AccessMapError) {
                guard !valueText.isEmpty else { throw .missingAction(key: String(keyText)) }
                switch try AccessKey.parse(keyText) {
                case .foreignTag(let tag):
                    problems.append(
                        MapProblem(
                            file: file, line: number, severity: .warning,
                            message: "\"\(tag):\" entries are not supported; line ignored"))
                case .key(let key):
                    let entry = Entry(
                        action: try AccessAction.parse(valueText), kind: key.kind, written: String(keyText),
                        line: number)
                    if let previous = map.insert(entry, for: key) {
                        problems.append(
                            MapProblem(
                                file: file, line: number, severity: .warning,
                                message:
                                    "duplicate key \"\(keyText)\" (also on line \(previous.line)); the last one wins"
                            ))
                    }
                }
            } catch {
                problems.append(MapProblem(file: file, line: number, severity: .error, message: error.description))
            }
        }
        return (map, problems)
    }

    /// Stores an entry and returns the one it replaced.
    private mutating func insert(_ entry: Entry, for key: AccessKey) -> Entry? {
        switch key.tag {
        case .connect: return connect.updateValue(entry, forKey: key.normalized)
        case .from: return from.updateValue(entry, forKey: key.normalized)
        case .to: return to.updateValue(entry, forKey: key.normalized)
        case nil: return untagged.updateValue(entry, forKey: key.normalized)
        }
    }

    // MARK: - Lookups

    /// The Connect: decision for a client: its IP address and each shorter
    /// prefix, then its host name and each parent domain. The address comes
    /// first because it is the one fact the client cannot forge; a host
    /// name from reverse DNS is whatever the owner of the address block
    /// says, so callers should pass only a forward-confirmed name.
    public func lookupClient(ip: String, hostname: String?) -> AccessMatch? {
        var families: [[[String]]] = []
        if let address = IPAddressValue(text: ip) {
            families.append(address.accessKeys.map { [$0] })
        }
        if let hostname, let name = DomainName.normalize(hostname), !DomainName.looksNumeric(name) {
            families.append(Self.domainSteps(name))
        }
        return search(families, tag: .connect)
    }

    /// The From: decision for an envelope sender as the SMTP parser gave it
    /// (`""` or `<>` for the null sender).
    public func lookupSender(_ address: String) -> AccessMatch? {
        if address.isEmpty || address == "<>" {
            return search([[["<>"]]], tag: .from)
        }
        guard let parts = try? MailboxParts(address) else { return nil }
        return lookup(mailbox: parts, tag: .from)
    }

    /// The To: decision for a recipient address, as written.
    public func lookupRecipient(_ address: String) -> AccessMatch? {
        guard let parts = try? MailboxParts(address) else { return nil }
        return lookup(mailbox: parts, tag: .to)
    }

    /// A mailbox's entry: `user@domain`, then the domain and its parents
    /// (or the literal's address and prefixes), then `user@`.
    func lookup(mailbox: MailboxParts, tag: AccessTag) -> AccessMatch? {
        let local = mailbox.localPart.lowercased()
        var families: [[[String]]] = []
        switch mailbox.domain {
        case .name(let name):
            families.append([[local + "@" + name]])
            families.append(Self.domainSteps(name))
        case .literal(let address):
            families.append([[local + "@" + address.literalKey]])
            families.append(address.accessKeys.map { [$0] })
        case nil:
            break
        }
        families.append([[local + "@"]])
        return search(families, tag: tag)
    }

    /// The steps of a host name's walk: the name itself, then for each
    /// parent `.parent` (subdomains only, Sendmail's lookupdotdomain) and
    /// `parent`. Every parent up to the top-level domain is tried, as
    /// Sendmail does, so `com REJECT` means what it says.
    static func domainSteps(_ name: String) -> [[String]] {
        [[name]] + DomainName.parents(of: name).map { ["." + $0, String($0)] }
    }

    /// Tries each family in turn; within a family each step, most specific
    /// first, and within a step the tagged keys before the untagged ones.
    /// SKIP ends its family without a decision ("abort the current search",
    /// in Sendmail's words): the next family is still tried.
    private func search(_ families: [[[String]]], tag: AccessTag) -> AccessMatch? {
        let tagged: [String: Entry]
        switch tag {
        case .connect: tagged = connect
        case .from: tagged = from
        case .to: tagged = to
        }
        for family in families {
            steps: for step in family {
                for key in step {
                    guard let entry = tagged[key] else { continue }
                    if entry.action == .skip { break steps }
                    return entry.match(tag: tag)
                }
                for key in step {
                    guard let entry = untagged[key] else { continue }
                    if entry.action == .skip { break steps }
                    return entry.match(tag: nil)
                }
            }
        }
        return nil
    }
}

/// The entry a lookup found, with where it came from so that a log line can
/// say why a client or address was refused.
public struct AccessMatch: Equatable, Sendable {
    public var action: AccessAction
    /// The entry's tag; nil for an untagged entry.
    public var tag: AccessTag?
    public var kind: AccessKeyKind
    /// The key as written in the file.
    public var key: String
    public var line: Int

    public init(action: AccessAction, tag: AccessTag?, kind: AccessKeyKind, key: String, line: Int) {
        self.action = action
        self.tag = tag
        self.kind = kind
        self.key = key
        self.line = line
    }
}
