/// Parses the right-hand side of a mailertable line, `mailer:host`, into
/// a route. The mailers are those Sendmail installs by default and this
/// MTA can honour: `smtp` and `esmtp` (one thing here: SMTP with EHLO),
/// `relay`, `local` and `error`. Any other mailer (`uucp-dom`, `procmail`,
/// a custom one) is refused on its line rather than sent by SMTP: the file
/// asked for something else.
enum MailertableValue {
    static func parse(_ value: Substring) throws(VirtualMapError) -> MailerRoute {
        let written = String(value.prefix(256))
        guard let colon = value.firstIndex(of: ":") else { throw .missingMailer(written) }
        let mailer = value[..<colon].lowercased()
        let rest = value[value.index(after: colon)...]
        switch mailer {
        case "error":
            let reply = try VirtualErrorReply.parse(rest)
            return .error(enhanced: reply.enhanced, code: reply.code, text: reply.text)
        case "local":
            if rest.isEmpty { return .local(user: nil) }
            guard VirtualLocalUser.isValid(rest) else { throw .invalidLocalUser(written) }
            return .local(user: String(rest))
        case "smtp", "esmtp":
            guard !rest.contains(where: { $0 == " " || $0 == "\t" }) else { throw .invalidHost(written) }
            let host = try MailerHost.parse(rest)
            return .smtp(host: host.host, port: host.port, mxLookup: host.mxLookup)
        case "relay":
            guard !rest.contains(where: { $0 == " " || $0 == "\t" }) else { throw .invalidHost(written) }
            let host = try MailerHost.parse(rest)
            return .relay(host: host.host, port: host.port, mxLookup: host.mxLookup)
        case "":
            throw .missingMailer(written)
        default:
            throw .unsupportedMailer(String(mailer.prefix(64)))
        }
    }
}
