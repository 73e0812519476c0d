/// What a finished outbound handshake agreed on and what the certificate
/// proved, for the delivery log.
public struct OutboundTLSInfo: Sendable, Equatable, CustomStringConvertible {
    /// "TLSv1.3", "TLSv1.2".
    public var version: String
    /// OpenSSL's name: "TLS_AES_256_GCM_SHA384", "ECDHE-RSA-AES256-GCM-SHA384".
    public var cipher: String
    /// The cipher's secret bits and its algorithm's bits (256/256).
    public var bits: Int32
    public var algorithmBits: Int32
    /// The server certificate's subject common name, with control
    /// characters replaced (it is the server's text, bound for a log line).
    public var peerCommonName: String?
    /// Whether the chain verified against the CA bundle and the certificate
    /// names the peer. Also reported when verification was not required: it
    /// says what policy `verify` would have concluded.
    public var verified: Bool
    /// Why it did not verify ("hostname mismatch", "self-signed
    /// certificate"); nil when it did.
    public var verificationError: String?

    public init(
        version: String, cipher: String, bits: Int32, algorithmBits: Int32, peerCommonName: String?,
        verified: Bool, verificationError: String?
    ) {
        self.version = version
        self.cipher = cipher
        self.bits = bits
        self.algorithmBits = algorithmBits
        self.peerCommonName = peerCommonName
        self.verified = verified
        self.verificationError = verificationError
    }

    /// `TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits), peer CN=mx.example.com, verified=yes`,
    /// or `..., verified=no (hostname mismatch)`.
    public var description: String {
        var text = "\(version) with cipher \(cipher) (\(bits)/\(algorithmBits) bits)"
        text += ", peer CN=" + (peerCommonName ?? "(none)")
        if verified {
            text += ", verified=yes"
        } else {
            text += ", verified=no (\(verificationError ?? "unknown reason"))"
        }
        return text
    }

    /// The longest common name kept for the log.
    static let maximumCommonNameLength = 128

    /// `name` made safe for one log line.
    static func loggable(_ name: String) -> String {
        var result = ""
        for scalar in name.unicodeScalars.prefix(maximumCommonNameLength) {
            let isControl = scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value)
            result.unicodeScalars.append(isControl ? "?" : scalar)
        }
        return result
    }
}
