/// How a local address can name a destination that is not local. Each was
/// once a way to make an MTA relay for anyone: the mail arrives for a
/// local domain, passes the relay check, and is then routed onwards by
/// what its local part says.
public enum RelayTrick: Equatable, Sendable {
    /// `user%other.example@local`: the rightmost `%` becomes the `@`.
    case percentHack
    /// `other.example!user@local` or `other.example!user`: UUCP routing.
    case bangPath
    /// An `@` inside the local part: `"user@other.example"@local`, or
    /// `user@other.example@local` from a sloppy parser.
    case embeddedAt
}

/// Where a RCPT address really goes.
public enum RecipientDestination: Equatable, Sendable {
    /// One of ours: the local part (unquoted) to resolve into a user.
    case local(localPart: String)
    /// Somewhere else: the address to relay to and its domain (lowercase,
    /// or the address literal as written).
    case remote(address: String, domain: String)
    /// A local address whose local part routes elsewhere. Only a client
    /// that may relay gets it, and then `inner` is analysed in its place.
    case routed(trick: RelayTrick, inner: String)
}

/// The anti-relay analysis of one RCPT address: decides what its real
/// destination is, from the local domains and the host's own addresses.
/// Pure and cheap (a parse and a couple of set probes), since it runs for
/// every RCPT. Where the answer is "not local", the caller applies the
/// relay rules; where the address routes through its local part, the
/// caller refuses it unless the client may relay.
public struct RecipientAddress: Sendable {
    /// Normalized local domains (lowercase, no trailing dot).
    let localDomains: Set<String>
    /// The host's own addresses: `user@[one of them]` is local, any other
    /// literal is remote, whatever it happens to point at.
    let hostAddresses: Set<IPAddressValue>

    /// `localDomains` may hold names in any case, with trailing dots, and
    /// `[address]` literals (as local-host-names can); `hostAddresses`
    /// holds addresses as text. Entries that are neither are ignored: they
    /// could never match an address that passed the SMTP parser.
    public init(localDomains: some Sequence<String>, hostAddresses: some Sequence<String>) {
        var names = Set<String>()
        var addresses = Set<IPAddressValue>()
        for entry in localDomains {
            if entry.hasPrefix("[") {
                if let address = IPAddressValue(literal: entry) { addresses.insert(address) }
            } else if let name = DomainName.normalize(entry) {
                names.insert(name)
            }
        }
        for entry in hostAddresses {
            if let address = IPAddressValue(text: entry) { addresses.insert(address) }
        }
        self.localDomains = names
        self.hostAddresses = addresses
    }

    /// The destination of `address` as the SMTP parser gave it.
    public func destination(of address: String) throws(RecipientAddressError) -> RecipientDestination {
        try analyze(address).destination
    }

    /// The destination together with the parsed mailbox, which the policy
    /// uses for its To: lookups.
    func analyze(_ address: String) throws(RecipientAddressError) -> (
        parts: MailboxParts, destination: RecipientDestination
    ) {
        let parts = try MailboxParts(address)
        guard isLocal(parts.domain) else {
            let domain: String
            switch parts.domain {
            case .name(let name)?: domain = name
            default: domain = parts.writtenDomain ?? ""
            }
            return (parts, .remote(address: parts.relayAddress, domain: domain))
        }
        return (parts, Self.route(localPart: parts.localPart))
    }

    /// A bare local part is ours (RFC 5321 `<postmaster>`, and local
    /// submissions); otherwise the domain must be a local name or one of
    /// the host's own addresses.
    func isLocal(_ domain: MailDomain?) -> Bool {
        switch domain {
        case nil: return true
        case .name(let name)?: return localDomains.contains(name)
        case .literal(let address)?: return hostAddresses.contains(address)
        }
    }

    /// What a local part says about routing. An `@` wins over `!` and `%`
    /// because it is the most explicit; between the two UUCP's leftmost `!`
    /// names the next hop, and the percent hack's rightmost `%` becomes the
    /// `@`, as Sendmail reads them. The analysis never has to be right
    /// about exotic mixtures for safety: any of the three characters makes
    /// the address a relay attempt, refused for clients that may not relay.
    static func route(localPart: String) -> RecipientDestination {
        if localPart.contains("@") {
            return .routed(trick: .embeddedAt, inner: localPart)
        }
        if let bang = localPart.firstIndex(of: "!") {
            let host = localPart[..<bang]
            let user = localPart[localPart.index(after: bang)...]
            return .routed(trick: .bangPath, inner: user + "@" + host)
        }
        if let percent = localPart.lastIndex(of: "%") {
            let user = localPart[..<percent]
            let host = localPart[localPart.index(after: percent)...]
            return .routed(trick: .percentHack, inner: user + "@" + host)
        }
        return .local(localPart: localPart)
    }
}
