import PosternAliases
import PosternCore

/// `sendmail -bv`: how an address resolves, step by step, with this
/// host's own users' rights (relaying allowed): a virtual address's
/// target, an alias's members (nested aliases followed, the rest named as
/// they will be delivered), a local user, a remote route. Nothing is
/// delivered and no DNS is asked: an MX route is named, not resolved.
/// What only delivery can know (a user's .forward, an :include: file's
/// contents) is said to be read then.
struct AddressExplainer {
    let engine: PolicyEngine
    let aliases: AliasTable
    let virtusertable: Virtusertable
    let mailertable: Mailertable
    let smartHost: String
    /// Bare alias members are names at this host.
    let hostname: String

    /// Aliases nested deeper than this are cut short (a loop, or a mistake).
    static let maxDepth = 10

    func explain(_ address: String) -> Result<[String], SMTPReply> {
        var lines: [String] = []
        if let virtual = virtusertable.lookup(address) {
            switch virtual {
            case .local(let user): lines.append("\(address): virtual address for local name \(user)")
            case .address(let next): lines.append("\(address): virtual address for <\(next)>")
            case .error: break
            }
        }
        switch engine.recipient(
            address, client: ClientDecision(decision: .accept, mayRelay: true), authenticated: false)
        {
        case .reject(let code, let enhanced, let text):
            return .failure(SMTPReply(code: Int(code), enhanced: enhanced, text: text))
        case .discard:
            lines.append("\(address): discarded by the access map")
        case .local(let user):
            describeLocal(user, as: address, depth: 0, seen: [], into: &lines)
        case .remote(let next, let domain):
            lines.append("<\(next)>: deliverable: remote, \(route(domain))")
        }
        return .success(lines)
    }

    private func describeLocal(
        _ name: String, as shown: String, depth: Int, seen: Set<String>, into lines: inout [String]
    ) {
        let indent = String(repeating: "  ", count: depth)
        guard let entry = aliases.entry(named: name) else {
            lines.append(
                "\(indent)\(shown): deliverable: local user \(name) (a ~/.forward is read at delivery)")
            return
        }
        guard depth < Self.maxDepth, !seen.contains(entry.name) else {
            lines.append("\(indent)\(shown): alias \(entry.name) nested too deep or in a loop")
            return
        }
        lines.append("\(indent)\(shown): alias \(entry.name), members:")
        let inner = "  " + indent
        for target in entry.targets {
            switch target {
            case .name(let member):
                if aliases.entry(named: member) != nil {
                    describeLocal(member, as: member, depth: depth + 1, seen: seen.union([entry.name]), into: &lines)
                } else {
                    lines.append(memberLine(member, indent: inner))
                }
            case .verbatimUser(let user):
                lines.append("\(inner)\\\(user): deliverable: local user \(user) (no further aliasing)")
            case .address(let address):
                switch engine.recipient(
                    address, client: ClientDecision(decision: .accept, mayRelay: true), authenticated: false)
                {
                case .remote(let next, let domain):
                    lines.append("\(inner)<\(next)>: deliverable: remote, \(route(domain))")
                case .local(let user): lines.append("\(inner)<\(address)>: deliverable: local user \(user)")
                case .discard: lines.append("\(inner)<\(address)>: discarded by the access map")
                case .reject(let code, _, let text):
                    lines.append("\(inner)<\(address)>: undeliverable: \(code) \(text)")
                }
            case .pipe(let command):
                lines.append("\(inner)\"|\(command)\": deliverable: pipe to a program in SmrshDirectory")
            case .file(let path): lines.append("\(inner)\(path): deliverable: file in SafeFileEnvironment")
            case .maildir(let path): lines.append("\(inner)\(path): deliverable: Maildir in SafeFileEnvironment")
            case .include(let path): lines.append("\(inner):include:\(path): its addresses are read at delivery")
            }
        }
    }

    private func memberLine(_ member: String, indent: String) -> String {
        let qualified = member.contains("@") ? member : member + "@" + hostname
        switch engine.recipient(
            qualified, client: ClientDecision(decision: .accept, mayRelay: true), authenticated: false)
        {
        case .local(let user):
            return "\(indent)\(member): deliverable: local user \(user) (a ~/.forward is read at delivery)"
        case .remote(let next, let domain): return "\(indent)<\(next)>: deliverable: remote, \(route(domain))"
        case .discard: return "\(indent)\(member): discarded by the access map"
        case .reject(let code, _, let text): return "\(indent)\(member): undeliverable: \(code) \(text)"
        }
    }

    /// The route without DNS: a mailertable entry, the smart host, or MX.
    private func route(_ domain: String) -> String {
        switch mailertable.route(for: domain) {
        case .smtp(let host, let port, let mx)?, .relay(let host, let port, let mx)?:
            return "mailertable: \(mx ? host : "[\(host)]")\(port.map { ":\($0)" } ?? "") for \(domain)"
        case .local?, .error?, nil:
            if !smartHost.isEmpty { return "via the smart host \(smartHost)" }
            return "via the MX hosts of \(domain)"
        }
    }
}
