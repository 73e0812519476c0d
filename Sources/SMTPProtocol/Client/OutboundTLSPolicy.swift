/// Per-destination TLS policy for outbound connections, with Postfix's
/// level names (smtp_tls_security_level).
public enum OutboundTLSPolicy: String, Equatable, Sendable, CaseIterable {
    /// Never STARTTLS, even when offered.
    case none
    /// Opportunistic (the default): STARTTLS when offered, and go on in
    /// cleartext if the server then refuses it. A handshake that fails
    /// leaves the connection unusable; the session ends with
    /// `SessionFailure.retryWithoutTLS`, and the I/O layer may reconnect to
    /// the same host with policy `none`.
    case may
    /// STARTTLS is required; the certificate is not checked.
    case encrypt
    /// STARTTLS is required and the I/O layer verifies the server's
    /// certificate and name, reporting a mismatch as `tlsFailed`.
    case verify

    /// Without TLS nothing may be sent: a missing or refused STARTTLS
    /// defers every message with 4.7.4.
    public var requiresTLS: Bool { self == .encrypt || self == .verify }

    public var attemptsTLS: Bool { self != .none }

    /// Whether the TLS layer must check the peer's certificate chain and name.
    public var verifiesPeer: Bool { self == .verify }
}
