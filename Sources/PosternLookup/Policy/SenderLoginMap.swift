import PosternCore
/// Which logins may use which sender addresses (Postfix's
/// smtpd_sender_login_maps): one `sender  login[, login...]` per line, the
/// sender a full address or `@domain`, `#` comment lines, addresses,
/// domains and logins compared case-insensitively. Read as text on every
/// start and reload; a bad line is reported and skipped, the rest applies.
/// Immutable once built, so any number of threads may read it.
public struct SenderLoginMap: Sendable, Equatable {
    private var addresses: [String: Set<String>] = [:]
    private var domains: [String: Set<String>] = [:]

    /// The empty map: no sender is owned by anyone.
    public init() {}

    public var count: Int { addresses.count + domains.count }

    /// The logins that own `sender`: the exact address's entry if there is
    /// one, else its domain's; nil when neither is listed.
    public func owners(of sender: String) -> Set<String>? {
        let key = Self.normalizedAddress(sender)
        if let owners = addresses[key] { return owners }
        guard let at = key.lastIndex(of: "@") else { return nil }
        return domains[String(key[key.index(after: at)...])]
    }

    /// Whether `login` may send as `sender`.
    public func allows(login: String, sender: String) -> Bool {
        owners(of: sender)?.contains(Self.lowercased(login)) ?? false
    }

    /// The MAIL FROM decision for an authenticated session: the null
    /// sender (bounces) is always allowed; any other sender must be owned
    /// by `login`, else 553 5.7.1 as Postfix words it.
    public func decision(sender: String, login: String) -> PolicyDecision {
        let address = Self.normalizedAddress(sender)
        if address.isEmpty || allows(login: login, sender: sender) { return .accept }
        let shown = Self.printable(sender.first == "<" ? sender : "<\(sender)>")
        return .reject(
            code: 553, enhanced: "5.7.1",
            text: "\(shown): Sender address rejected: not owned by user \(Self.printable(login))")
    }

    /// Printable ASCII only, the rest as `\xHH`: the text is sent to the
    /// client in a reply and written to the log.
    static func printable(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            if byte >= 0x20 && byte < 0x7F && byte != 0x5C {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                out += "\\x" + (byte < 0x10 ? "0" : "") + String(byte, radix: 16, uppercase: true)
            }
        }
        return out
    }

    // MARK: - Parsing

    public static func parse(text: String, file: String) -> (SenderLoginMap, [MapProblem]) {
        var map = SenderLoginMap()
        var problems: [MapProblem] = []
        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
        for (index, line) in lines.enumerated() {
            let trimmed = line.trimmingMapBlanks
            guard let first = trimmed.first, first != "#" else { continue }
            let keyText = trimmed.prefix(while: { $0 != " " && $0 != "\t" })
            let loginText = trimmed.dropFirst(keyText.count)
            let logins = loginText.split(whereSeparator: { $0 == "," || $0 == " " || $0 == "\t" }).map {
                lowercased(String($0))
            }
            func problem(_ message: String, _ severity: MapProblem.Severity = .error) {
                problems.append(MapProblem(file: file, line: index + 1, severity: severity, message: message))
            }
            guard !logins.isEmpty else {
                problem("no login for \"\(escaped(keyText))\"")
                continue
            }
            if let bad = logins.first(where: { !isValidLogin($0) }) {
                problem("invalid login \"\(escaped(bad))\"")
                continue
            }
            let key = normalizedAddress(String(keyText))
            if key.hasPrefix("@") {
                let domain = String(key.dropFirst())
                guard isValidDomain(domain) else {
                    problem("invalid domain \"\(escaped(keyText))\"")
                    continue
                }
                if map.domains[domain] != nil {
                    problem("duplicate key \"\(escaped(keyText))\"; logins merged", .warning)
                }
                map.domains[domain, default: []].formUnion(logins)
            } else {
                guard let at = key.lastIndex(of: "@"), at != key.startIndex,
                    isValidDomain(String(key[key.index(after: at)...]))
                else {
                    problem("invalid sender \"\(escaped(keyText))\" (use user@domain or @domain)")
                    continue
                }
                if map.addresses[key] != nil {
                    problem("duplicate key \"\(escaped(keyText))\"; logins merged", .warning)
                }
                map.addresses[key, default: []].formUnion(logins)
            }
        }
        return (map, problems)
    }

    /// Lower case, angle brackets and a trailing dot on the domain taken off.
    static func normalizedAddress(_ address: String) -> String {
        var text = Substring(address)
        if text.first == "<", text.last == ">", text.count >= 2 { text = text.dropFirst().dropLast() }
        if text.last == "." { text = text.dropLast() }
        return lowercased(String(text))
    }

    /// ASCII lower case: the comparison must not depend on a locale.
    static func lowercased(_ text: String) -> String {
        String(
            decoding: text.utf8.map { $0 >= 0x41 && $0 <= 0x5A ? $0 + 0x20 : $0 }, as: UTF8.self)
    }

    private static func isValidLogin(_ login: String) -> Bool {
        !login.isEmpty && login.utf8.count <= 255
            && !login.unicodeScalars.contains { $0.value < 0x21 || $0.value == 0x7F || $0 == "#" }
    }

    private static func isValidDomain(_ domain: String) -> Bool {
        guard !domain.isEmpty, domain.utf8.count <= 255 else { return false }
        return domain.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
            !label.isEmpty && label.utf8.count <= 63
                && label.unicodeScalars.allSatisfy { scalar in
                    scalar.value > 0x7F || ("a"..."z").contains(scalar)
                        || ("0"..."9").contains(scalar) || "-_[]:".unicodeScalars.contains(scalar)
                }
        }
    }

    private static func escaped<S: StringProtocol>(_ text: S) -> String {
        String(text).unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? "?" : String($0) }.joined()
    }
}
