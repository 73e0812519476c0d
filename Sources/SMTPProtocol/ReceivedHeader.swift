/// The trace field of RFC 5321 §4.4 that the server prepends to every
/// message it accepts. No software version appears in it: version strings
/// only help an attacker pick an exploit.
enum ReceivedHeader {
    /// - Parameters:
    ///   - helo: the validated HELO/EHLO name.
    ///   - clientAddress: the peer's IP address as text; written as an
    ///     RFC 5321 address literal (`[192.0.2.1]`, `[IPv6:2001:db8::1]`).
    ///   - recipient: named in a `for` clause only when it is the sole
    ///     recipient, so one recipient's address never leaks to another.
    ///   - date: an RFC 5322 date-time supplied by the I/O layer (the state
    ///     machine has no clock).
    static func build(
        helo: String, esmtp: Bool, clientAddress: String, hostname: String, queueID: String,
        recipient: String?, date: String
    ) -> [UInt8] {
        var text = "Received: from \(clean(helo)) (\(addressLiteral(clean(clientAddress))))\r\n"
        text += "\tby \(clean(hostname)) (Postern) with \(esmtp ? "ESMTP" : "SMTP") id \(clean(queueID))"
        if let recipient {
            text += "\r\n\tfor <\(clean(recipient))>; \(clean(date))\r\n"
        } else {
            text += ";\r\n\t\(clean(date))\r\n"
        }
        return Array(text.utf8)
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
    /// is not printable ASCII or a space gets through.
    private static func clean(_ text: String) -> String {
        String(decoding: text.utf8.filter { $0 == ASCII.space || ASCII.isPrintable($0) }, as: UTF8.self)
    }
}
