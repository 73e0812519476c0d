/// The groups a refusal falls in, from the reply the client got. The raw
/// values are the JSON keys (README, "Logs").
public enum RejectionReason: String, CaseIterable, Codable, Sendable {
    case relayingDenied = "relaying_denied"
    case unknownUser = "unknown_user"
    case accessMap = "access_map"
    case dnsbl
    case size
    /// MaxConnections, per-client limits, the connection rate, too many
    /// recipients, pipelined input beyond the limit.
    case limits
    case protocolError = "protocol"
    case bareLineEndings = "bare_line_endings"
    /// AUTH required, too many failures, encryption required.
    case auth
    case timeout
    /// 4xx for a resource or a peer: spool space, a process not answering.
    case temporary
    case other

    /// `stage` is CONNECT, MAIL, RCPT or SMTP (the session's own replies);
    /// `refused` for the listener's connection limits.
    static func classify(stage: Substring, code: Int, enhanced: Substring, text: Substring) -> RejectionReason {
        func has(_ needle: String) -> Bool { text.contains(needle) }
        if has("Relaying denied") { return .relayingDenied }
        if has("User unknown") || enhanced == "5.1.1" { return .unknownUser }
        if has("blocked using") { return .dnsbl }
        if has("bare CR or bare LF") || has("Bare CR or LF") { return .bareLineEndings }
        if enhanced == "5.3.4" || has("size exceeds") { return .size }
        if has("Too many connections") || has("rate limit") || enhanced == "4.5.3" || has("too much pipelined") {
            return .limits
        }
        if enhanced == "4.4.2" || has("timeout exceeded") { return .timeout }
        if has("authentication") || code == 530 || code == 538 || code == 535 { return .auth }
        if stage == "CONNECT" || stage == "MAIL" || has("Access denied") {
            return code >= 500 || stage != "SMTP" ? .accessMap : .temporary
        }
        if stage == "RCPT" && code >= 500 { return .accessMap }
        if code >= 500 && code < 510 || enhanced.hasPrefix("5.5.") || enhanced == "5.0.0" || has("too many errors")
            || code == 555 || enhanced.hasPrefix("5.6.") || enhanced == "5.1.3" || enhanced == "5.1.7"
            || enhanced == "5.4.6"
        {
            return .protocolError
        }
        if code < 500 { return .temporary }
        return .other
    }
}
