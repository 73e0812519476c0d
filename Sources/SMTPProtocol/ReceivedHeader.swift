/// The trace field of RFC 5321 §4.4 that the server prepends to every
/// message it accepts. No software version appears in it: version strings
/// only help an attacker pick an exploit.
enum ReceivedHeader {
    /// - Parameters:
    ///   - helo: the validated HELO/EHLO name; nil when the client sent
    ///     MAIL without one, and the client's address literal stands in.
    ///   - protocolName: from `protocolName(esmtp:utf8:tls:authenticated:)`.
    ///   - clientAddress: the peer's IP address as text; written as an
    ///     RFC 5321 address literal (`[192.0.2.1]`, `[IPv6:2001:db8::1]`).
    ///   - recipient: named in a `for` clause only when it is the sole
    ///     recipient, so one recipient's address never leaks to another.
    ///   - utf8: the transaction declared SMTPUTF8, so the recipient may
    ///     carry (already validated) UTF-8 (RFC 6532).
    ///   - date: an RFC 5322 date-time supplied by the I/O layer (the state
    ///     machine has no clock).
    ///   - tls: the TLS version and cipher, as a comment (Postfix's
    ///     layout), so a reader of the message sees how it travelled.
    static func build(
        helo: String?, protocolName: String, clientAddress: String, hostname: String, queueID: String,
        recipient: String?, utf8: Bool = false, date: String, tls: String? = nil
    ) -> [UInt8] {
        let client = addressLiteral(clean(clientAddress))
        var text = "Received: from \(helo.map { clean($0) } ?? client) (\(client))\r\n"
        if let tls { text += "\t(using \(clean(tls)))\r\n" }
        text += "\tby \(clean(hostname)) (Postern) with \(clean(protocolName)) id \(clean(queueID))"
        if let recipient {
            text += "\r\n\tfor <\(clean(recipient, keepUTF8: utf8))>; \(clean(date))\r\n"
        } else {
            text += ";\r\n\t\(clean(date))\r\n"
        }
        return Array(text.utf8)
    }

    /// The `with` protocol names registered by RFC 3848 and RFC 6531:
    /// SMTP after HELO; ESMTP after EHLO, UTF8SMTP when the transaction
    /// declared SMTPUTF8; "S" when TLS protects the session and "A" when
    /// the client authenticated (ESMTPS, ESMTPA, ESMTPSA, UTF8SMTPSA, …).
    static func protocolName(esmtp: Bool, utf8: Bool, tls: Bool, authenticated: Bool) -> String {
        guard esmtp else { return "SMTP" }
        return (utf8 ? "UTF8SMTP" : "ESMTP") + (tls ? "S" : "") + (authenticated ? "A" : "")
    }

    /// RFC 5321 TCP-info wants an address literal; a value that is neither
    /// an IPv4 nor an IPv6 address (a local socket, say) is kept as it is.
    static func addressLiteral(_ address: String) -> String {
        let bytes = Array(address.utf8)[...]
        if DomainSyntax.isIPv4(bytes) { return "[\(address)]" }
        if DomainSyntax.isIPv6(bytes) { return "[IPv6:\(address)]" }
        return address
    }

    /// Every value here is checked where it enters, but a header is the one
    /// place where a stray CR or LF would forge structure, so nothing that
    /// is not printable ASCII or a space gets through (UTF-8 only where
    /// SMTPUTF8 allowed it, and it was validated on the way in).
    static func clean(_ text: String, keepUTF8: Bool = false) -> String {
        String(
            decoding: text.utf8.filter { $0 == ASCII.space || ASCII.isPrintable($0) || (keepUTF8 && $0 >= 0x80) },
            as: UTF8.self)
    }
}
