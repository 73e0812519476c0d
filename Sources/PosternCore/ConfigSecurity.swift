/// What a listening socket speaks (the word after the address on a
/// `Listen` line).
public enum ListenKind: String, Sendable, Equatable, CaseIterable {
    /// Port 25: STARTTLS offered when a certificate is configured; AUTH
    /// after STARTTLS (or in cleartext if `AuthAllowCleartext`).
    case smtp
    /// Port 587 (RFC 6409): like smtp, and AUTH is required before MAIL.
    case submission
    /// Port 465 (RFC 8314): TLS from the first byte, AUTH required before
    /// MAIL. `smtps` is accepted as another name for it.
    case submissions

    public var requiresAuthentication: Bool { self != .smtp }
    public var implicitTLS: Bool { self == .submissions }

    static func parse(_ word: String) -> ListenKind? {
        let lower = ConfigText.asciiLowercased(word)
        return lower == "smtps" ? .submissions : ListenKind(rawValue: lower)
    }
}

/// Where Cyrus SASL checks passwords (its `pwcheck_method`).
public enum SASLPasswordCheck: String, Sendable, Equatable {
    /// The sasldb file (`SaslDbFile`), through the sasldb auxprop plugin.
    case auxprop
    /// The saslauthd daemon, over its socket (`SaslauthdSocket`).
    case saslauthd
}

/// TLSMinVersion: the oldest TLS a listener accepts. The raw values are the
/// file's spelling; anything older than 1.2 is never offered at all.
public enum TLSMinimumVersion: String, Sendable, Equatable, CaseIterable {
    case tls12 = "1.2"
    case tls13 = "1.3"
}

/// TLS and SMTP AUTH settings (issue 4). Files are opened before the
/// process that needs them drops privileges: the certificate and key by
/// the listener, the sasldb and the saslauthd socket by the lookup, which
/// reaches them inside its root (the configuration directory), so both
/// must live there.
public struct SecurityConfig: Equatable, Sendable {
    /// PEM certificate chain (the server's first); nil: no TLS at all.
    public var tlsCertificateFile: String? = nil
    public var tlsKeyFile: String? = nil
    /// CA certificates to verify a client certificate against; nil: none.
    public var tlsCAFile: String? = nil
    /// OpenSSL cipher list for TLS 1.2: forward secrecy and AEAD only
    /// (Mozilla's "intermediate" list).
    public var tlsCipherList: String =
        "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
        + "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
        + "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384"
    /// OpenSSL cipher suites for TLS 1.3.
    public var tlsCipherSuites: String = "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256"
    /// The oldest TLS version the listener accepts.
    public var tlsMinVersion: TLSMinimumVersion = .tls12
    public var tlsRequestClientCertificate: Bool = false
    /// Mechanisms offered, in order, when Cyrus SASL has them.
    public var authMechanisms: [String] = ["SCRAM-SHA-256", "CRAM-MD5", "PLAIN", "LOGIN"]
    /// Offer AUTH before STARTTLS (never the default: passwords in clear).
    public var authAllowCleartext: Bool = false
    /// Failed AUTH attempts in one session before it is closed.
    public var authMaxFailures: Int = SMTPDefaults.maxAuthFailures
    public var saslPasswordCheck: SASLPasswordCheck = .auxprop
    public var saslDbFile: String
    public var saslauthdSocket: String
    /// File of sender addresses and the logins that may use them; nil: no
    /// binding (any authenticated user may send as anyone).
    public var senderLoginMap: String? = nil

    /// Every option at its default; the SASL files' defaults are inside
    /// the configuration directory.
    public init(configDirectory: String) {
        saslDbFile = configDirectory + "/sasldb2"
        saslauthdSocket = configDirectory + "/saslauthd/mux"
    }

    public var tlsEnabled: Bool { tlsCertificateFile != nil }

    /// Whether any client could be offered AUTH: under TLS (which needs a
    /// certificate) or, if allowed, in cleartext. The listener offers it
    /// on no other terms.
    public var authCanBeOffered: Bool { tlsEnabled || authAllowCleartext }
}

extension ConfigValue {
    /// An OpenSSL cipher list or suite list: one word, OpenSSL judges the rest
    /// when the listener loads it.
    static func cipherString(_ text: String) throws(ConfigValueError) -> String {
        guard !text.isEmpty, !text.contains(" ") else {
            throw ConfigValueError("\(ConfigText.quoted(text)) is not an OpenSSL cipher string")
        }
        return text
    }

    /// SASL mechanism names separated by blanks or commas, upper case.
    static func mechanisms(_ text: String) throws(ConfigValueError) -> [String] {
        let names = text.split(whereSeparator: { $0 == " " || $0 == "," || $0 == "\t" }).map {
            String($0).uppercased()
        }
        guard !names.isEmpty else { throw ConfigValueError("no mechanism named") }
        for name in names where !SASLMechanismName.isValid(name) {
            throw ConfigValueError("\(ConfigText.quoted(name)) is not a SASL mechanism name")
        }
        return names
    }
}
