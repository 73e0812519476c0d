import PosternCore
/// Sendmail's mailertable (FEATURE(mailertable)), read from its text
/// form: which destination domains go by another route than their MX
/// records. Built once per (re)load and then only read, by several
/// threads, so it is an immutable dictionary keyed by the normalized key.
///
/// Keys: `host.domain` matches that host only; `.domain` matches every
/// host under the domain but not the domain itself (`.example.com`
/// matches `a.example.com` and `b.a.example.com`, not `example.com`); a
/// lone `.` matches everything, the default route Sendmail's cf/README
/// describes.
public struct Mailertable: Sendable {
    struct Entry: Sendable {
        var route: MailerRoute
        var line: Int
    }

    /// Keyed by the normalized name, `.name`, or `.` for the default.
    private var entries: [String: Entry] = [:]

    /// The empty table: every lookup misses.
    public init() {}

    /// How many entries the table holds, for the reload log.
    public var count: Int { entries.count }

    // MARK: - Parsing

    /// Reads a mailertable, with the same rules as `Virtusertable.parse`:
    /// a bad line is a problem and the rest applies; a repeated key keeps
    /// its last value with a warning; at most `maxEntries` entries.
    public static func parse(text: String, file: String) -> (Mailertable, [MapProblem]) {
        var table = Mailertable()
        var (lines, problems) = VirtualMapLines.read(text, file: file)
        for line in lines {
            do throws(VirtualMapError) {
                let key = try Self.key(line.key)
                let entry = Entry(route: try MailertableValue.parse(line.value), line: line.number)
                if table.entries[key] == nil, table.entries.count >= VirtualMapLines.maxEntries {
                    problems.append(VirtualMapLines.tooManyEntries(file: file, line: line.number))
                    break
                }
                if let previous = table.entries.updateValue(entry, forKey: key) {
                    problems.append(
                        MapProblem(
                            file: file, line: line.number, severity: .warning,
                            message: "duplicate key \"\(key)\" (also on line \(previous.line)); the last one wins"))
                }
            } catch {
                problems.append(
                    MapProblem(file: file, line: line.number, severity: .error, message: error.description))
            }
        }
        return (table, VirtualMapLines.inFileOrder(problems))
    }

    /// The normalized key: `.`, `.domain` or `host`, lower case, without a
    /// trailing dot.
    static func key(_ text: Substring) throws(VirtualMapError) -> String {
        if text == "." { return "." }
        let subdomains = text.first == "."
        guard let name = DomainName.normalize(subdomains ? text.dropFirst() : text) else {
            throw .invalidMailertableKey(String(text.prefix(256)))
        }
        return subdomains ? "." + name : name
    }

    // MARK: - Lookup

    /// The route for a destination domain: the domain itself, then `.parent`
    /// for each parent from the nearest up, then `.`; the first found is
    /// the most specific, so it wins. nil for no entry, and for anything
    /// that is not a host name: an address literal is delivered to its
    /// address, as in Sendmail, whose rules handle literals before the
    /// mailertable.
    public func route(for domain: String) -> MailerRoute? {
        guard let name = DomainName.normalize(domain), !DomainName.looksNumeric(name) else { return nil }
        if let entry = entries[name] { return entry.route }
        for parent in DomainName.parents(of: name) {
            if let entry = entries["." + parent] { return entry.route }
        }
        return entries["."]?.route
    }
}
