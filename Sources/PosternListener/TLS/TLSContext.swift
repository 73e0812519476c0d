import COpenSSL
import Glibc
import OpenSSLSupport
import PosternCore

/// The lowest TLS version a listener accepts. SSL 2/3, TLS 1.0 and 1.1 are
/// never offered.
public enum TLSVersion: String, Sendable, Equatable, CaseIterable {
    case tls12 = "TLSv1.2"
    case tls13 = "TLSv1.3"

    /// The configuration's TLSMinVersion; a switch, so that a version added
    /// there cannot be quietly read as another one here.
    public init(_ minimum: TLSMinimumVersion) {
        switch minimum {
        case .tls12: self = .tls12
        case .tls13: self = .tls13
        }
    }
}

/// What a listener's TLS is made of: the files, the versions and ciphers,
/// whether to ask clients for a certificate.
public struct TLSConfiguration: Sendable, Equatable {
    /// ECDHE key exchange with AEAD ciphers only (forward secrecy, no CBC, no RSA key transport).
    public static let defaultCipherList =
        "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
        + "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
        + "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256"
    /// The installed OpenSSL's own TLS 1.3 default, so it follows the OS.
    public static let defaultCipherSuites = String(cString: postern_tls_default_ciphersuites())

    /// PEM: the server certificate first, then the intermediates.
    public var certificateChainPath: String
    /// PEM, unencrypted (a daemon cannot type a passphrase).
    public var privateKeyPath: String
    public var minimumVersion: TLSVersion
    /// OpenSSL cipher list for TLS 1.2.
    public var cipherList: String
    /// OpenSSL cipher suites for TLS 1.3.
    public var cipherSuites: String
    /// Ask the client for a certificate; one that is missing or does not
    /// verify against `caFilePath` is recorded in `TLSSessionInfo`, not refused.
    public var requestClientCertificate: Bool
    /// PEM bundle of the CAs whose client certificates are trusted and advertised.
    public var caFilePath: String?

    public init(
        certificateChainPath: String, privateKeyPath: String, minimumVersion: TLSVersion = .tls12,
        cipherList: String = TLSConfiguration.defaultCipherList,
        cipherSuites: String = TLSConfiguration.defaultCipherSuites,
        requestClientCertificate: Bool = false, caFilePath: String? = nil
    ) {
        self.certificateChainPath = certificateChainPath
        self.privateKeyPath = privateKeyPath
        self.minimumVersion = minimumVersion
        self.cipherList = cipherList
        self.cipherSuites = cipherSuites
        self.requestClientCertificate = requestClientCertificate
        self.caFilePath = caFilePath
    }
}

/// An OpenSSL `SSL_CTX`: the certificate, key and policy shared by every
/// connection of a listener. Create it before the privilege drop — it reads
/// the files then and never again. OpenSSL 3 allows one `SSL_CTX` to be used
/// from several threads at once; each connection's `SSL` stays on its
/// channel's event loop.
public final class TLSContext: @unchecked Sendable {
    public let configuration: TLSConfiguration
    let pointer: OpaquePointer

    public init(_ config: TLSConfiguration) throws(TLSError) {
        configuration = config
        OpenSSLErrors.clear()
        try Self.checkReadable(config.certificateChainPath)
        try Self.checkReadable(config.privateKeyPath)
        if config.requestClientCertificate, let ca = config.caFilePath { try Self.checkReadable(ca) }

        guard let method = TLS_server_method(), let ctx = SSL_CTX_new(method) else {
            throw .contextCreationFailed(openssl: OpenSSLErrors.drain())
        }
        do throws(TLSError) {
            try Self.configure(ctx, config)
        } catch {
            SSL_CTX_free(ctx)
            throw error
        }
        pointer = ctx
    }

    deinit { SSL_CTX_free(pointer) }

    private static func configure(_ ctx: OpaquePointer, _ config: TLSConfiguration) throws(TLSError) {
        SSL_CTX_set_options(ctx, postern_ssl_op_server_defaults())
        let minimum = config.minimumVersion == .tls13 ? postern_tls1_3_version() : postern_tls1_2_version()
        guard postern_ssl_ctx_set_min_proto_version(ctx, minimum) == 1 else {
            throw .contextCreationFailed(openssl: OpenSSLErrors.drain(fallback: "cannot set the minimum version"))
        }
        // Idle SMTP sessions are common: give their read/write buffers back.
        _ = postern_ssl_ctx_set_mode_release_buffers(ctx)
        _ = postern_ssl_ctx_set_session_cache_server(ctx)
        let sessionContext: [UInt8] = Array("postern-smtpd".utf8)
        _ = SSL_CTX_set_session_id_context(ctx, sessionContext, UInt32(sessionContext.count))
        SSL_CTX_set_default_passwd_cb(ctx, postern_no_passphrase_callback())

        guard SSL_CTX_use_certificate_chain_file(ctx, config.certificateChainPath) == 1 else {
            throw .invalidCertificateChain(path: config.certificateChainPath, openssl: OpenSSLErrors.drain())
        }
        let key = try loadPrivateKey(config.privateKeyPath)
        defer { EVP_PKEY_free(key) }
        guard SSL_CTX_use_PrivateKey(ctx, key) == 1, SSL_CTX_check_private_key(ctx) == 1 else {
            throw .keyMismatch(
                certificatePath: config.certificateChainPath, keyPath: config.privateKeyPath,
                openssl: OpenSSLErrors.drain())
        }

        guard SSL_CTX_set_cipher_list(ctx, config.cipherList) == 1 else {
            throw .invalidCipherList(config.cipherList, openssl: OpenSSLErrors.drain())
        }
        guard SSL_CTX_set_ciphersuites(ctx, config.cipherSuites) == 1 else {
            throw .invalidCipherSuites(config.cipherSuites, openssl: OpenSSLErrors.drain())
        }

        if config.requestClientCertificate {
            if let ca = config.caFilePath {
                guard SSL_CTX_load_verify_locations(ctx, ca, nil) == 1, let names = SSL_load_client_CA_file(ca)
                else {
                    throw .invalidCAFile(path: ca, openssl: OpenSSLErrors.drain())
                }
                SSL_CTX_set_client_CA_list(ctx, names)
            }
            SSL_CTX_set_verify_depth(ctx, 8)
            postern_ssl_ctx_request_client_certificate(ctx)
        }
        OpenSSLErrors.clear()
    }

    /// Reads the key on its own so that an unreadable or encrypted key is
    /// told apart from a key that does not match the certificate.
    static func loadPrivateKey(_ path: String) throws(TLSError) -> OpaquePointer {
        guard let bio = BIO_new_file(path, "r") else {
            throw .invalidPrivateKey(path: path, openssl: OpenSSLErrors.drain())
        }
        defer { BIO_free(bio) }
        guard let key = PEM_read_bio_PrivateKey(bio, nil, postern_no_passphrase_callback(), nil) else {
            throw .invalidPrivateKey(path: path, openssl: OpenSSLErrors.drain(fallback: "no PEM private key"))
        }
        return key
    }

    /// A clear message for the common mistakes (missing file, wrong
    /// permissions, a directory) before OpenSSL reports them its own way.
    static func checkReadable(_ path: String) throws(TLSError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .fileUnreadable(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw .fileUnreadable(path: path, reason: String(cString: strerror(errno)))
        }
        guard info.st_mode & S_IFMT == S_IFREG else { throw .fileUnreadable(path: path, reason: "not a regular file") }
    }
}
