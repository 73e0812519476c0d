import PosternAliases
/// The lookup process's decisions: the client at connect time, the sender
/// at MAIL, each recipient at RCPT. Pure functions of the tables and the
/// arguments, so they can run on any thread and be tested without a
/// socket; the tables are normalized once in `init` so each call is a parse
/// of the address and a few hash probes.
///
/// Relaying (a recipient whose destination is not local) is allowed only
/// when the client's Connect: entry said RELAY, the session authenticated,
/// or the destination's To: entry says RELAY. Everything else that is not
/// local is `550 5.7.1 Relaying denied`, and so is every local address
/// whose local part routes elsewhere (`%`, `!`, an `@` inside quotes) unless
/// the client itself may relay.
public struct PolicyEngine: Sendable {
    /// How many times a relaying client's address may be unwrapped
    /// (`a%b%c@local`…) before it is refused; real mail needs one.
    static let maxRoutingDepth = 8

    private let access: AccessMap
    private let addresses: RecipientAddress
    private let users: LocalUsers
    private let virtual: Virtusertable
    private let mailers: Mailertable
    /// The local domains proper (not the virtual ones): a miss in the
    /// virtusertable falls through to users and aliases only for these.
    private let realDomains: RecipientAddress

    public init(tables: PolicyTables) {
        access = tables.access
        // Virtual domains are ours to answer for: local for the relay check.
        addresses = RecipientAddress(
            localDomains: tables.localDomains.union(tables.virtusertable.domains),
            hostAddresses: tables.hostAddresses)
        realDomains = RecipientAddress(localDomains: tables.localDomains, hostAddresses: tables.hostAddresses)
        users = LocalUsers(users: tables.users, aliases: tables.aliases)
        virtual = tables.virtusertable
        mailers = tables.mailertable
    }

    /// The Connect: decision. No entry means accept without relaying, the
    /// hardened default.
    public func client(ip: String, hostname: String?) -> ClientDecision {
        guard let match = access.lookupClient(ip: ip, hostname: hostname) else {
            return ClientDecision(decision: .accept, mayRelay: false)
        }
        switch match.action {
        case .ok, .skip: return ClientDecision(decision: .accept, mayRelay: false)
        case .relay: return ClientDecision(decision: .accept, mayRelay: true)
        case .discard: return ClientDecision(decision: .discard, mayRelay: false)
        case .reject:
            let (code, enhanced, text) = PolicyReplies.clientDenied(ip)
            return ClientDecision(decision: .reject(code: code, enhanced: enhanced, text: text), mayRelay: false)
        case .error(let code, let enhanced, let text):
            return ClientDecision(decision: .reject(code: code, enhanced: enhanced, text: text), mayRelay: false)
        }
    }

    /// The From: decision for MAIL. OK and RELAY accept; a refused or
    /// discarded client stays so (the listener should not have got this
    /// far, and answering consistently costs nothing). Authentication does
    /// not lift a From: REJECT: an administrator who listed a sender meant
    /// it, as in Sendmail without delay_checks.
    public func sender(_ address: String, client: ClientDecision, authenticated: Bool) -> PolicyDecision {
        if client.decision != .accept { return client.decision }
        guard let match = access.lookupSender(address) else { return .accept }
        switch match.action {
        case .ok, .relay, .skip: return .accept
        case .discard: return .discard
        case .reject:
            let (code, enhanced, text) = PolicyReplies.accessDenied(address)
            return .reject(code: code, enhanced: enhanced, text: text)
        case .error(let code, let enhanced, let text): return .reject(code: code, enhanced: enhanced, text: text)
        }
    }

    /// The decision for one RCPT address, as the SMTP parser gave it.
    ///
    /// The order is Sendmail's: the access map's To: entry for the address
    /// as given; for our domains (local and virtual) the virtusertable, whose
    /// answer may be another address, looked at again; for a virtual domain
    /// a miss is an unknown user; for a local one the aliases and users; for
    /// other domains the mailertable's `error:` and `local:` entries, then
    /// the relay rules. An address the virtusertable forwards elsewhere is
    /// relayed without the client's relay rights: the administrator wrote it.
    public func recipient(_ address: String, client: ClientDecision, authenticated: Bool) -> RecipientDecision {
        switch client.decision {
        case .reject(let code, let enhanced, let text): return .reject(code: code, enhanced: enhanced, text: text)
        case .discard: return .discard
        case .accept: break
        }
        let clientMayRelay = client.mayRelay || authenticated
        var current = address
        var forwarded = false
        for round in 0..<Self.maxRoutingDepth {
            let parts: MailboxParts
            let destination: RecipientDestination
            do {
                (parts, destination) = try addresses.analyze(current)
            } catch {
                return Self.reject(PolicyReplies.malformed(address))
            }
            if round == 0 || !forwarded {
                if let refusal = Self.refusal(access.lookup(mailbox: parts, tag: .to), address: address) {
                    return refusal
                }
            }
            switch destination {
            case .routed(_, let inner):
                // The percent hack and its cousins: a relaying client may
                // route through us (the inner address is then judged like
                // any other); nobody else may, whatever the inner address.
                guard clientMayRelay else { return Self.reject(PolicyReplies.relayingDenied(address)) }
                current = inner
            case .local(let localPart):
                switch virtual.lookup(current) {
                case .error(let enhanced, let code, let text)?:
                    return .reject(code: code, enhanced: enhanced, text: text)
                case .local(let name)?:
                    guard let user = users.resolve(name) else { return Self.reject(PolicyReplies.userUnknown(address)) }
                    return .local(user: user)
                case .address(let next)?:
                    current = next
                    forwarded = true
                    continue
                case nil:
                    break
                }
                guard realDomains.isLocal(parts.domain), let user = users.resolve(localPart) else {
                    return Self.reject(PolicyReplies.userUnknown(address))
                }
                return .local(user: user)
            case .remote(let relayAddress, let domain):
                switch mailers.route(for: domain) {
                case .error(let enhanced, let code, let text)?:
                    return .reject(code: code, enhanced: enhanced, text: text)
                case .local(let named)?:
                    guard let user = users.resolve(named ?? parts.localPart) else {
                        return Self.reject(PolicyReplies.userUnknown(address))
                    }
                    return .local(user: user)
                case .smtp?, .relay?, nil:
                    break
                }
                guard forwarded || clientMayRelay || Self.allowsRelayTo(access.lookup(mailbox: parts, tag: .to)) else {
                    return Self.reject(PolicyReplies.relayingDenied(address))
                }
                return .remote(address: relayAddress, domain: domain)
            }
        }
        return Self.reject(PolicyReplies.tooManyHops(address))
    }

    /// REJECT, ERROR and DISCARD from a To: entry; nil lets the recipient
    /// go on to the relay and user checks.
    private static func refusal(_ match: AccessMatch?, address: String) -> RecipientDecision? {
        switch match?.action {
        case .reject?: return reject(PolicyReplies.accessDenied(address))
        case .error(let code, let enhanced, let text)?: return .reject(code: code, enhanced: enhanced, text: text)
        case .discard?: return .discard
        case .ok?, .relay?, .skip?, nil: return nil
        }
    }

    /// A To: RELAY opens relaying to its destination only when it names the
    /// destination: a domain (or literal address) entry or a full
    /// `user@domain`. A `user@` entry names a local part at every domain on
    /// earth, so its RELAY would open the relay for that name; it counts as
    /// OK.
    private static func allowsRelayTo(_ match: AccessMatch?) -> Bool {
        guard let match, match.action == .relay else { return false }
        return match.kind != .localPart
    }

    private static func reject(_ reply: (Int, String, String)) -> RecipientDecision {
        .reject(code: reply.0, enhanced: reply.1, text: reply.2)
    }
}
