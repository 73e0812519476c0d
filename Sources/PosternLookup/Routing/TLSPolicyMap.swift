import PosternCore
import PosternIPC

/// ConfigDirectory/tls_policy: outbound TLS per destination, Postfix's
/// smtp_tls_policy_maps in Sendmail's map shape. `domain policy` lines;
/// `.domain` covers every host under it; the longest match wins, then the
/// configured default. Policies: `none` (never STARTTLS), `may`
/// (opportunistic), `encrypt` (TLS or defer), `verify` (TLS with a
/// certificate that verifies for the MX host's name, or defer).
struct TLSPolicyMap {
    private var entries: [String: RouteAnswer.TLSPolicy] = [:]
    var fallback: RouteAnswer.TLSPolicy

    init(fallback: RouteAnswer.TLSPolicy = .may) {
        self.fallback = fallback
    }

    var count: Int { entries.count }

    static func policy(named name: String) -> RouteAnswer.TLSPolicy? {
        switch name.lowercased() {
        case "none": return RouteAnswer.TLSPolicy.none
        case "may": return .may
        case "encrypt": return .encrypt
        case "verify", "secure": return .verify
        default: return nil
        }
    }

    /// The configured default (TLSClientPolicy) as the map's policy.
    static func policy(_ configured: TLSClientPolicy) -> RouteAnswer.TLSPolicy {
        switch configured {
        case .none: return RouteAnswer.TLSPolicy.none
        case .may: return .may
        case .encrypt: return .encrypt
        case .verify: return .verify
        }
    }

    static func parse(text: String, file: String, fallback: RouteAnswer.TLSPolicy) -> (TLSPolicyMap, [MapProblem]) {
        var map = TLSPolicyMap(fallback: fallback)
        var problems: [MapProblem] = []
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.prefix { $0 != "#" }.trimmingMapBlanks
            guard !line.isEmpty else { continue }
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            func problem(_ message: String) {
                problems.append(MapProblem(file: file, line: index + 1, severity: .error, message: message))
            }
            guard words.count == 2 else {
                problem("expected \"domain policy\"")
                continue
            }
            let dotted = words[0].hasPrefix(".")
            guard let name = DomainName.normalize(dotted ? words[0].dropFirst() : words[0]) else {
                problem("invalid domain \"\(words[0].prefix(64))\"")
                continue
            }
            guard let policy = policy(named: String(words[1])) else {
                problem("unknown policy \"\(words[1].prefix(32))\" (none, may, encrypt, verify)")
                continue
            }
            map.entries[(dotted ? "." : "") + name] = policy
        }
        return (map, problems)
    }

    /// The entry for the domain itself, then `.parent` from the nearest up.
    func policy(for domain: String) -> RouteAnswer.TLSPolicy {
        if let exact = entries[domain] { return exact }
        for parent in DomainName.parents(of: domain) {
            if let found = entries["." + parent] { return found }
        }
        return fallback
    }
}
