import COpenSSL
import Glibc
import OpenSSLSupport

/// The relay's one OpenSSL `SSL_CTX` for client connections. Made once,
/// before the chroot: the CA bundle is read into memory here and the file
/// is never opened again, so verification keeps working inside the empty
/// root. OpenSSL 3 lets many threads create connections from one context
/// at once, which is what one thread per outbound connection needs.
///
/// A CA bundle that cannot be loaded is not an error here: opportunistic
/// TLS (policies `may`, `encrypt`) needs no trust anchors. It makes
/// verification impossible instead: a session that asks for it fails with
/// `verificationUnavailable`, so policy `verify` never degrades to an
/// unverified connection.
public final class OutboundTLSContext: @unchecked Sendable {
    /// Debian's and Ubuntu's bundle of the system's trusted CAs.
    public static let systemCABundlePath = "/etc/ssl/certs/ca-certificates.crt"
    /// ECDHE key exchange with AEAD ciphers only (forward secrecy, no CBC,
    /// no RSA key transport). TLS 1.3 keeps the installed OpenSSL's own
    /// suites, so it follows the OS.
    public static let defaultCipherList =
        "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
        + "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
        + "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256"
    /// Longer chains than this are not worth following for mail.
    static let maximumChainDepth: Int32 = 10

    public let caBundlePath: String
    /// Why the CA bundle did not load, or nil when it did.
    public let trustStoreProblem: String?
    let pointer: OpaquePointer

    /// Whether sessions may ask for verification.
    public var canVerify: Bool { trustStoreProblem == nil }

    public init(
        caBundlePath: String = OutboundTLSContext.systemCABundlePath,
        cipherList: String = OutboundTLSContext.defaultCipherList
    ) throws(OutboundTLSError) {
        self.caBundlePath = caBundlePath
        OpenSSLErrors.clear()
        guard let method = TLS_client_method(), let ctx = SSL_CTX_new(method) else {
            throw .contextCreationFailed(openssl: OpenSSLErrors.drain())
        }
        do throws(OutboundTLSError) {
            try Self.configure(ctx, cipherList: cipherList)
        } catch {
            SSL_CTX_free(ctx)
            throw error
        }
        trustStoreProblem = Self.loadTrustStore(ctx, path: caBundlePath)
        pointer = ctx
    }

    deinit { SSL_CTX_free(pointer) }

    private static func configure(_ ctx: OpaquePointer, cipherList: String) throws(OutboundTLSError) {
        // No SSLv2/3, TLS 1.0/1.1, compression or renegotiation. The same
        // option set as the listener's: its server-only bits (cipher server
        // preference, single ECDH use) have no effect on a client.
        SSL_CTX_set_options(ctx, postern_ssl_op_server_defaults())
        guard postern_ssl_ctx_set_min_proto_version(ctx, postern_tls1_2_version()) == 1 else {
            throw .contextCreationFailed(openssl: OpenSSLErrors.drain(fallback: "cannot set the minimum version"))
        }
        guard SSL_CTX_set_cipher_list(ctx, cipherList) == 1 else {
            throw .invalidCipherList(cipherList, openssl: OpenSSLErrors.drain())
        }
        // A connection to a slow MX may sit idle between messages: give its
        // buffers back meanwhile.
        _ = postern_ssl_ctx_set_mode_release_buffers(ctx)
        // Each session chooses: verification on fails the handshake, off
        // only records the result.
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nil)
        SSL_CTX_set_verify_depth(ctx, maximumChainDepth)
        OpenSSLErrors.clear()
    }

    /// Loads the bundle into the context's store; the reason it could not, or nil.
    private static func loadTrustStore(_ ctx: OpaquePointer, path: String) -> String? {
        // Checked first so that the reason is the system's ("No such file
        // or directory"), and a FIFO or directory cannot block or mislead OpenSSL.
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { return "cannot read \(path): \(String(cString: strerror(errno)))" }
        var info = stat()
        let statted = fstat(fd, &info) == 0
        let reason = String(cString: strerror(errno))
        close(fd)
        guard statted else { return "cannot read \(path): \(reason)" }
        guard info.st_mode & S_IFMT == S_IFREG else { return "cannot read \(path): not a regular file" }
        OpenSSLErrors.clear()
        guard SSL_CTX_load_verify_locations(ctx, path, nil) == 1 else {
            return "no usable CA certificates in \(path): \(OpenSSLErrors.drain())"
        }
        OpenSSLErrors.clear()
        return nil
    }
}
