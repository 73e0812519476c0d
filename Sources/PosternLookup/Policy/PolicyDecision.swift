/// What the lookup answers the listener for a connection or a sender.
public enum PolicyDecision: Equatable, Sendable {
    case accept
    case reject(code: Int, enhanced: String, text: String)
    /// Accept, then drop the message without delivering it.
    case discard
}

/// The Connect: decision, made once per connection and handed back with
/// every later question so that each answer stays a pure function of its
/// arguments (the lookup keeps no per-session state).
public struct ClientDecision: Equatable, Sendable {
    public var decision: PolicyDecision
    /// True only when the client's Connect: entry said RELAY.
    public var mayRelay: Bool

    public init(decision: PolicyDecision, mayRelay: Bool) {
        self.decision = decision
        self.mayRelay = mayRelay
    }
}

/// The answer for one RCPT.
public enum RecipientDecision: Equatable, Sendable {
    /// Deliver to this local user (a name from /etc/passwd).
    case local(user: String)
    /// Relay to `address`, whose domain is `domain`.
    case remote(address: String, domain: String)
    case reject(code: Int, enhanced: String, text: String)
    /// Accept this recipient and drop its copy.
    case discard
}
