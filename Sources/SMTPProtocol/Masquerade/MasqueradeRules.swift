/// Sendmail's masquerading settings, as the administrator writes them: a
/// mail hub hides the names of the hosts behind it so that replies go to
/// the domain (where aliases know every user) and not to a workstation.
///
/// | Sendmail                  | here                  |
/// |---------------------------|-----------------------|
/// | `MASQUERADE_AS`           | `masqueradeAs`        |
/// | `MASQUERADE_DOMAIN`       | `masqueradeDomains`   |
/// | class w, local-host-names | `localHostNames`      |
/// | `EXPOSED_USER`            | `exposedUsers`        |
/// | `masquerade_entire_domain`| `entireDomain`        |
/// | `masquerade_envelope`     | `envelope`            |
/// | `always_add_domain`       | `alwaysAddDomain`     |
/// | `$j`                      | `hostName`            |
///
/// Which addresses are masqueraded (see `Masquerader`): those whose domain,
/// compared without regard to case or a trailing dot,
/// - is this host (`hostName`, always a member of class w as `$j` is in
///   Sendmail) or one of `localHostNames`, exactly;
/// - equals an entry of `masqueradeDomains` written `example.com`, or, with
///   `entireDomain`, is that name or any name under it;
/// - is under or equal to an entry written `.example.com`. The bare
///   `example.com` matches too: the leading dot says "the whole domain",
///   which is what `entireDomain` means for an entry without the dot, and
///   Sendmail treats `*example.com` as including `example.com` itself.
///   When `masqueradeAs` is that same name the rewrite is a no-op.
///
/// and whose domain is not already `masqueradeAs`, is not a domain literal,
/// and whose local part is not an exposed user.
public struct MasqueradeRules: Equatable, Sendable {
    /// Sendmail's class E always holds `root`, because mail from root is
    /// usually an alert and the reader wants to know which host sent it.
    /// Here the list is explicit: `exposedUsers` is the complete list, so a
    /// configuration that sets it should keep `root` in it.
    public static let defaultExposedUsers = ["root"]

    /// The domain that replaces masqueraded ones; empty turns masquerading
    /// off (but not `alwaysAddDomain`).
    public var masqueradeAs: String
    /// `example.com` (that host) or `.example.com` (the whole domain).
    public var masqueradeDomains: [String]
    /// Names of this host besides `hostName` (Sendmail's class w).
    public var localHostNames: [String]
    /// Local parts whose addresses are never masqueraded, compared without
    /// regard to case (and to quoting: `"root"` is `root`).
    public var exposedUsers: [String]
    /// `masquerade_entire_domain`: entries without a leading dot match the
    /// whole domain too.
    public var entireDomain: Bool
    /// `masquerade_envelope`: the envelope sender is masqueraded as well as
    /// the header fields.
    public var envelope: Bool
    /// `always_add_domain`: an address without a domain gets `@hostName`
    /// (and is then masqueraded like any other address of this host).
    public var alwaysAddDomain: Bool
    /// This host's fully qualified name (Sendmail's `$j`).
    public var hostName: String

    public init(
        masqueradeAs: String = "",
        masqueradeDomains: [String] = [],
        localHostNames: [String] = [],
        exposedUsers: [String] = MasqueradeRules.defaultExposedUsers,
        entireDomain: Bool = false,
        envelope: Bool = false,
        alwaysAddDomain: Bool = false,
        hostName: String = ""
    ) {
        self.masqueradeAs = masqueradeAs
        self.masqueradeDomains = masqueradeDomains
        self.localHostNames = localHostNames
        self.exposedUsers = exposedUsers
        self.entireDomain = entireDomain
        self.envelope = envelope
        self.alwaysAddDomain = alwaysAddDomain
        self.hostName = hostName
    }
}

/// A setting that is not a domain name. `Masquerader` ignores such a
/// setting rather than write it into a message, so the configuration loader
/// should call `validate()` and refuse to start instead.
public enum MasqueradeRulesError: Error, Equatable, Sendable {
    case invalidMasqueradeAs(String)
    case invalidMasqueradeDomain(String)
    case invalidLocalHostName(String)
    case invalidHostName(String)
}

extension MasqueradeRules {
    /// Checks every name for RFC 5321 domain syntax (a trailing dot, and a
    /// leading dot in a masquerade domain, allowed).
    public func validate() throws(MasqueradeRulesError) {
        if !masqueradeAs.isEmpty && Self.domainKey(masqueradeAs) == nil {
            throw .invalidMasqueradeAs(masqueradeAs)
        }
        for entry in masqueradeDomains where Self.masqueradeDomainKey(entry) == nil {
            throw .invalidMasqueradeDomain(entry)
        }
        for name in localHostNames where Self.domainKey(name) == nil {
            throw .invalidLocalHostName(name)
        }
        if !hostName.isEmpty && Self.domainKey(hostName) == nil {
            throw .invalidHostName(hostName)
        }
    }

    /// A configured name in the form names are compared in (lowercase, no
    /// trailing dot), or nil if it is not a domain.
    static func domainKey(_ name: String) -> [UInt8]? {
        domainKey(Array(name.utf8)[...])
    }

    private static func domainKey(_ name: ArraySlice<UInt8>) -> [UInt8]? {
        let bytes = name.last == ASCII.dot ? name.dropLast() : name
        guard DomainSyntax.isDomain(bytes) else { return nil }
        return bytes.map(ASCII.lowercased)
    }

    /// A `masqueradeDomains` entry: its key, and whether it names the whole
    /// domain (written with a leading dot).
    static func masqueradeDomainKey(_ entry: String) -> (key: [UInt8], wholeDomain: Bool)? {
        let bytes = Array(entry.utf8)[...]
        let leadingDot = bytes.first == ASCII.dot
        guard let key = domainKey(leadingDot ? bytes.dropFirst() : bytes) else { return nil }
        return (key, leadingDot)
    }
}
