import PosternCore
/// Sendmail's `local-host-names` (class {w} from FEATURE(use_cw_file)): the
/// names mail is delivered locally for, one or more per line, `#` starting
/// a comment. The local domains are this file's names plus the
/// configuration's `LocalDomains`. Names are kept lowercase without the
/// trailing dot, so that `Example.TEST.` in the file and `example.test` in
/// an address are the same domain; address literals (`[192.0.2.1]`) are
/// kept in one canonical spelling.
public struct LocalHostNames: Equatable, Sendable {
    public private(set) var names: Set<String>

    /// The names in `names` that are valid, normalized; the rest are
    /// dropped (they could never match a parsed address).
    public init(_ names: some Sequence<String> = [String]()) {
        var set = Set<String>()
        for name in names {
            if let normalized = Self.normalize(Substring(name)) { set.insert(normalized) }
        }
        self.names = set
    }

    /// Reads the file. An invalid name is reported with its line number and
    /// skipped; the other names still count.
    public static func parse(text: String, file: String) -> (LocalHostNames, [MapProblem]) {
        var result = LocalHostNames()
        var problems: [MapProblem] = []
        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
        for (index, line) in lines.enumerated() {
            let content = line.prefix(while: { $0 != "#" })
            for word in content.split(whereSeparator: { $0 == " " || $0 == "\t" }) {
                if let name = normalize(word) {
                    result.names.insert(name)
                } else {
                    problems.append(
                        MapProblem(
                            file: file, line: index + 1, severity: .error,
                            message: "invalid host name \"\(word.prefix(64))\""))
                }
            }
        }
        return (result, problems)
    }

    /// The local domains: these names and the configured ones, normalized.
    public func union(_ configured: some Sequence<String>) -> Set<String> {
        names.union(LocalHostNames(configured).names)
    }

    /// Whether mail for `domain` (any case, trailing dot or not) is local.
    public func contains(_ domain: String) -> Bool {
        guard let name = Self.normalize(Substring(domain)) else { return false }
        return names.contains(name)
    }

    private static func normalize(_ word: Substring) -> String? {
        if word.first == "[" { return IPAddressValue(literal: word)?.literalKey }
        guard let name = DomainName.normalize(word), !DomainName.looksNumeric(name) else { return nil }
        return name
    }
}
