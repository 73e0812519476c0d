/// The options of local delivery's programs and files and of masquerading,
/// kept together because they answer one question: under which name and
/// identity mail that originates or ends here goes.
public struct AddressingConfig: Equatable, Sendable {
    /// Sendmail's DefaultUser: the user the pipes and files named in the
    /// aliases file run as, never root.
    public var defaultUser: String = "nobody"
    /// Seconds a pipe delivery's program may run before it is killed and
    /// the delivery retried.
    public var pipeTimeout: Int = 1_000
    /// MASQUERADE_AS; empty: masquerading off.
    public var masqueradeAs: String = ""
    /// MASQUERADE_DOMAIN entries as written: `host.example` or `.example`.
    public var masqueradeDomains: [String] = []
    /// EXPOSED_USER: local parts never masqueraded. Sendmail's class E holds
    /// root by default, and so does this.
    public var exposedUsers: [String] = ["root"]
    /// FEATURE(masquerade_entire_domain).
    public var masqueradeEntireDomain: Bool = false
    /// FEATURE(masquerade_envelope).
    public var masqueradeEnvelope: Bool = false
    /// FEATURE(always_add_domain).
    public var alwaysAddDomain: Bool = true

    /// Every option at its default.
    public init() {}
}

extension ConfigValue {
    /// A user name as shadow-utils accepts them: the group-name rules.
    static func userName(_ text: String) throws(ConfigValueError) -> String {
        do {
            return try groupName(text)
        } catch {
            throw ConfigValueError("\(ConfigText.quoted(text)) is not a user name")
        }
    }

    /// User names separated by commas and blanks (EXPOSED_USER).
    static func userList(_ text: String) throws(ConfigValueError) -> [String] {
        var users: [String] = []
        for item in text.unicodeScalars.split(whereSeparator: { $0 == "," || ConfigText.isBlank($0) }) {
            users.append(try userName(String(item)))
        }
        return users
    }

    /// HomeMailbox: a Maildir below the home, so relative, without "." or
    /// ".." steps or empty ones, printable ASCII, and ending in "/".
    static func homeMailbox(_ text: String) throws(ConfigValueError) -> String {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard text.hasSuffix("/"), !text.hasPrefix("/"),
            !parts.dropLast().contains(where: {
                $0.isEmpty || $0 == "." || $0 == ".." || $0.utf8.contains { $0 < 0x21 || $0 > 0x7E }
            })
        else {
            throw ConfigValueError(
                "\(ConfigText.quoted(text)) is not a Maildir below the home (like Maildir/; mbox: none)")
        }
        return text
    }

    /// MASQUERADE_DOMAIN entries: host names, each optionally with a
    /// leading dot (every host under the domain).
    static func masqueradeDomains(_ text: String) -> Result<[String], ConfigValueErrors> {
        var domains: [String] = []
        var errors: [ConfigValueError] = []
        for item in text.unicodeScalars.split(whereSeparator: { $0 == "," || ConfigText.isBlank($0) }) {
            let word = String(item)
            let dotted = word.hasPrefix(".")
            do throws(ConfigValueError) {
                let name = (dotted ? "." : "") + (try hostName(dotted ? String(word.dropFirst()) : word))
                if !domains.contains(name) { domains.append(name) }
            } catch {
                errors.append(error)
            }
        }
        return errors.isEmpty ? .success(domains) : .failure(ConfigValueErrors(all: errors))
    }
}
