/// `MasqueradeRules` prepared for matching: built once per configuration
/// and shared by every session. Names that do not validate (see
/// `MasqueradeRules.validate()`) are ignored here, so that nothing but a
/// well-formed domain is ever written into an address.
public struct Masquerader: Sendable {
    public let rules: MasqueradeRules
    /// `masqueradeAs` as written (without a trailing dot), nil when
    /// masquerading is off.
    private let target: [UInt8]?
    private let targetKey: [UInt8]?
    /// `hostName`, when `alwaysAddDomain` can use it.
    private let qualifier: [UInt8]?
    private let qualifierKey: [UInt8]?
    /// Matched as a whole: class w, this host, and the masquerade domains
    /// written without a dot when `entireDomain` is off.
    private let hosts: Set<[UInt8]>
    /// Matched with every name under them.
    private let domains: Set<[UInt8]>
    /// Lowercase.
    private let exposedUsers: Set<[UInt8]>

    public init(_ rules: MasqueradeRules) {
        self.rules = rules
        let targetKey = rules.masqueradeAs.isEmpty ? nil : MasqueradeRules.domainKey(rules.masqueradeAs)
        self.targetKey = targetKey
        self.target = targetKey.map { _ in Self.withoutTrailingDot(rules.masqueradeAs) }
        let hostKey = rules.hostName.isEmpty ? nil : MasqueradeRules.domainKey(rules.hostName)
        self.qualifierKey = rules.alwaysAddDomain ? hostKey : nil
        self.qualifier = qualifierKey.map { _ in Self.withoutTrailingDot(rules.hostName) }
        var hosts = Set(rules.localHostNames.compactMap(MasqueradeRules.domainKey))
        if let hostKey { hosts.insert(hostKey) }
        var domains: Set<[UInt8]> = []
        for entry in rules.masqueradeDomains {
            guard let parsed = MasqueradeRules.masqueradeDomainKey(entry) else { continue }
            if parsed.wholeDomain || rules.entireDomain {
                domains.insert(parsed.key)
            } else {
                hosts.insert(parsed.key)
            }
        }
        self.hosts = hosts
        self.domains = domains
        self.exposedUsers = Set(rules.exposedUsers.map { $0.utf8.map(ASCII.lowercased) })
    }

    /// False when no address can change: the header section then passes
    /// through untouched without being parsed.
    public var isActive: Bool { target != nil || qualifier != nil }

    // MARK: - Addresses

    /// A bare addr-spec (`local@domain`, or `local` alone) as it would be
    /// rewritten in a header field: the domain masqueraded, a missing one
    /// added when `alwaysAddDomain` is on. The local part is kept byte for
    /// byte (quotes included). The null path "" and anything that is not
    /// an addr-spec come back unchanged.
    public func rewrite(address: String) -> String {
        rewrite(address, masquerading: true)
    }

    /// The envelope sender (MAIL FROM, without angle brackets):
    /// masqueraded only when `envelope` is on. The null path "" stays "".
    ///
    /// An unqualified sender (local submission: `sendmail -f bobo`) gets
    /// `@hostName` when `alwaysAddDomain` is on, whether or not `envelope`
    /// is, as Sendmail qualifies every envelope sender it relays; it is then
    /// masqueraded only when `envelope` is on. With `alwaysAddDomain` off it
    /// stays unqualified: qualifying it is then the submission path's job.
    public func rewrite(envelopeSender: String) -> String {
        rewrite(envelopeSender, masquerading: rules.envelope)
    }

    /// `rewrite(envelopeSender:)` for a parsed MAIL FROM path, which
    /// always has a domain.
    public func rewrite(envelopeSender: ReversePath) -> ReversePath {
        guard rules.envelope, case .mailbox(let mailbox) = envelopeSender,
            mailbox.domain.utf8.first != ASCII.leftBracket
        else { return envelopeSender }
        let local = Array(mailbox.localPart.utf8)[...]
        let value = AddressListParser.localPartValue(local.indices, in: local)
        guard let domain = masqueradedDomain(local: value, domain: Array(mailbox.domain.utf8)) else {
            return envelopeSender
        }
        return .mailbox(MailboxAddress(localPart: mailbox.localPart, domain: ASCII.string(domain)))
    }

    private func rewrite(_ address: String, masquerading: Bool) -> String {
        guard !address.isEmpty, isActive else { return address }
        let bytes = Array(address.utf8)[...]
        guard let site = try? AddressListParser.addrSpec(bytes),
            let edit = edit(for: site, in: bytes, masquerading: masquerading)
        else { return address }
        var output = Array(bytes[..<edit.range.lowerBound])
        output += edit.replacement
        output += bytes[edit.range.upperBound...]
        return String(decoding: output, as: UTF8.self)
    }

    // MARK: - Decisions

    /// A change to one mailbox: `range` replaced (or, when empty, inserted
    /// at) by `replacement`.
    struct Edit: Equatable {
        var range: Range<Int>
        var replacement: [UInt8]
    }

    /// What masquerading does to the mailbox at `site`, or nil for nothing.
    func edit(for site: MailboxSite, in bytes: ArraySlice<UInt8>, masquerading: Bool = true) -> Edit? {
        switch site.domain {
        case .literal, .commented:
            return nil
        case .name(let range, let name):
            guard masquerading else { return nil }
            let local = AddressListParser.localPartValue(site.localPart, in: bytes)
            return masqueradedDomain(local: local, domain: name).map { Edit(range: range, replacement: $0) }
        case .missing(let position):
            guard let qualifier, let qualifierKey else { return nil }
            var domain = qualifier
            if masquerading {
                let local = AddressListParser.localPartValue(site.localPart, in: bytes)
                domain = masqueradedDomain(local: local, domainKey: qualifierKey) ?? qualifier
            }
            return Edit(range: position..<position, replacement: [ASCII.at] + domain)
        }
    }

    /// `masqueradeAs` if an address of `local` at `domain` is masqueraded.
    func masqueradedDomain(local: [UInt8], domain: [UInt8]) -> [UInt8]? {
        var key = domain.map(ASCII.lowercased)
        if key.last == ASCII.dot { key.removeLast() }
        guard (1...DomainSyntax.maxDomainLength).contains(key.count) else { return nil }
        return masqueradedDomain(local: local, domainKey: key)
    }

    private func masqueradedDomain(local: [UInt8], domainKey key: [UInt8]) -> [UInt8]? {
        guard let target, key != targetKey, matches(key), !exposedUsers.contains(local.map(ASCII.lowercased)) else {
            return nil
        }
        return target
    }

    /// `key` is lowercase, without a trailing dot, at most 255 bytes: the
    /// suffix walk below costs at most one set lookup per label.
    private func matches(_ key: [UInt8]) -> Bool {
        if hosts.contains(key) || domains.contains(key) { return true }
        guard !domains.isEmpty else { return false }
        for (index, byte) in key.enumerated() where byte == ASCII.dot {
            if domains.contains(Array(key[(index + 1)...])) { return true }
        }
        return false
    }

    private static func withoutTrailingDot(_ name: String) -> [UInt8] {
        var bytes = Array(name.utf8)
        if bytes.last == ASCII.dot { bytes.removeLast() }
        return bytes
    }
}
