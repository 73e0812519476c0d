/// The relay's options: where mail goes when DNS is not asked, how it is
/// protected on the way, and how hard one destination is pressed.
public struct RelayConfig: Equatable, Sendable {
    /// Sendmail's SMART_HOST: `host` (its MX records), `[host]` or
    /// `[host]:port` (the host itself); empty: DNS MX routing.
    public var smartHost: String = ""
    /// The port remote servers are reached at (for MX and smart-host routes
    /// without a port of their own).
    public var smtpPort: UInt16 = 25
    /// Outbound TLS where the TLS policy map says nothing.
    public var tlsPolicy: TLSClientPolicy = .may
    /// CAs to verify servers against under the `verify` policy; loaded by
    /// the relay before its chroot.
    public var tlsCAFile: String = "/etc/ssl/certs/ca-certificates.crt"
    /// Connections to one destination at once: the cap of the slow start.
    public var destinationConcurrency: Int = 20
    /// Messages per minute to one destination; 0 = no limit.
    public var destinationRate: Int = 0
    /// Seconds to wait for a TCP connection to a remote server.
    public var connectTimeout: Int = 30
    /// Seconds an idle connection is kept for the next message.
    public var connectionCacheTime: Int = 5

    /// Every option at its default.
    public init() {}
}

/// TLSClientPolicy: outbound TLS for a destination the TLS policy map does
/// not name. The raw values are the file's spelling (and the map's).
public enum TLSClientPolicy: String, Sendable, Equatable, CaseIterable {
    /// Never STARTTLS.
    case none
    /// Opportunistic STARTTLS (the default): TLS when offered, else cleartext.
    case may
    /// TLS or defer; the certificate is not checked.
    case encrypt
    /// TLS with a certificate that verifies for the host's name, or defer.
    case verify
}

extension ConfigValue {
    /// `host`, `[host]` or `[address]`, with an optional `:port`; returned
    /// as written, with the host part in lower case.
    static func smartHost(_ text: String) throws(ConfigValueError) -> String {
        var rest = Substring(text)
        var port = ""
        let bracketed = rest.hasPrefix("[")
        if bracketed {
            guard let close = rest.firstIndex(of: "]") else { throw ConfigValueError("unterminated \"[\"") }
            let inside = rest[rest.index(after: rest.startIndex)..<close]
            port = String(rest[rest.index(after: close)...])
            rest = inside
        } else if rest.contains(":") {
            // As in the mailertable: a port follows a bracket only, so that
            // "host" always means its MX records.
            throw ConfigValueError("\(ConfigText.quoted(text)): a port needs brackets, [host]:port")
        }
        if !port.isEmpty {
            guard port.hasPrefix(":"), let number = UInt16(port.dropFirst()), number > 0 else {
                throw ConfigValueError("\(ConfigText.quoted(text)): bad port")
            }
        }
        let host = String(rest)
        let isAddress = ListenAddress.isDottedQuad(host) || (bracketed && ListenAddress.canonicalIPv6(host) != nil)
        let name = isAddress ? host : try hostName(host)
        return (bracketed ? "[\(name)]" : name) + port
    }
}
