/// Where a mailertable entry sends mail for a destination domain.
public enum MailerRoute: Equatable, Sendable {
    /// Deliver locally: to this user, or (nil, from `local:`) to the
    /// recipient's own local part as a local user.
    case local(user: String?)
    /// Refuse the recipient with this reply.
    case error(enhanced: String, code: Int, text: String)
    /// Deliver by SMTP to `host`: through its MX records when `mxLookup`
    /// (`smtp:host`, `esmtp:host`), to the host or address itself when the
    /// file bracketed it (`smtp:[host]`). `host` is a normalized name, a
    /// dotted IPv4 address or an IPv6 address without brackets or tag.
    case smtp(host: String, port: UInt16?, mxLookup: Bool)
    /// The same through Sendmail's `relay` mailer: a smart host that
    /// takes mail for domains other than its own.
    case relay(host: String, port: UInt16?, mxLookup: Bool)
}
