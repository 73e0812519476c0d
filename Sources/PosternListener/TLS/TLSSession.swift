import COpenSSL
import NIOCore
import OpenSSLSupport

/// What a finished handshake agreed on, for the log and the Received: header.
public struct TLSSessionInfo: Sendable, Equatable, CustomStringConvertible {
    /// "TLSv1.3", "TLSv1.2".
    public var version: String
    /// OpenSSL's name: "TLS_AES_256_GCM_SHA384", "ECDHE-RSA-AES256-GCM-SHA384".
    public var cipher: String
    /// The cipher's secret bits (256, 128).
    public var bits: Int32
    /// The client certificate's subject (RFC 2253), when one was asked for and sent.
    public var peerCertificateSubject: String?
    /// Whether that certificate verified against the configured CA file.
    public var peerCertificateVerified: Bool

    public init(
        version: String, cipher: String, bits: Int32, peerCertificateSubject: String? = nil,
        peerCertificateVerified: Bool = false
    ) {
        self.version = version
        self.cipher = cipher
        self.bits = bits
        self.peerCertificateSubject = peerCertificateSubject
        self.peerCertificateVerified = peerCertificateVerified
    }

    /// Postfix's form: `TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)`.
    public var description: String { "\(version) with cipher \(cipher) (\(bits)/\(bits) bits)" }
}

/// One connection's OpenSSL `SSL`, fed and drained through two memory BIOs:
/// ciphertext from the network goes in with `receive`, ciphertext for the
/// network comes out of `takeCiphertext`. No I/O and no event loop here;
/// the owner keeps it on one thread. Every call that can fail empties the
/// thread's OpenSSL error queue before and after.
final class TLSSession {
    enum HandshakeResult: Equatable {
        case complete
        case wantRead
        case failed(TLSError)
    }

    enum ReadResult: Equatable {
        /// Plaintext was appended; there may be more.
        case data
        /// Everything that arrived has been decrypted.
        case wantRead
        /// The peer sent close_notify.
        case closeNotify
        case failed(TLSError)
    }

    /// The largest plaintext one TLS record carries.
    static let maxRecordPlaintext = 16384

    private let ssl: OpaquePointer
    /// Ciphertext from the peer, read by OpenSSL.
    private let networkIn: OpaquePointer
    /// Ciphertext for the peer, written by OpenSSL.
    private let networkOut: OpaquePointer
    private let owner: AnyObject?

    /// A server connection of `context`.
    convenience init(context: TLSContext) throws(TLSError) {
        try self.init(sslContext: context.pointer, isServer: true, owner: context)
    }

    /// `owner` keeps the `SSL_CTX` alive as long as this connection (the
    /// `SSL` holds its own reference too; this keeps the Swift object).
    init(sslContext: OpaquePointer, isServer: Bool, owner: AnyObject? = nil) throws(TLSError) {
        guard let (ssl, input, output) = MemoryBIOConnection.make(sslContext) else {
            throw .sessionCreationFailed(openssl: OpenSSLErrors.drain())
        }
        if isServer { SSL_set_accept_state(ssl) } else { SSL_set_connect_state(ssl) }
        self.ssl = ssl
        self.networkIn = input
        self.networkOut = output
        self.owner = owner
    }

    deinit { SSL_free(ssl) }

    /// Hands ciphertext from the network to OpenSSL. False only if memory ran out.
    func receive(_ buffer: ByteBuffer) -> Bool {
        buffer.withUnsafeReadableBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let chunk = min(bytes.count - offset, Int(Int32.max))
                let n = BIO_write(networkIn, bytes.baseAddress.map { $0 + offset }, Int32(chunk))
                if n <= 0 { return false }
                offset += Int(n)
            }
            return true
        }
    }

    func handshake() -> HandshakeResult {
        OpenSSLErrors.clear()
        let rc = SSL_do_handshake(ssl)
        if rc == 1 { return .complete }
        let code = SSL_get_error(ssl, rc)
        switch code {
        case SSL_ERROR_WANT_READ:
            return .wantRead
        default:
            return .failed(.handshakeFailed(openssl: OpenSSLErrors.drain(fallback: Self.describe(code))))
        }
    }

    var isHandshakeComplete: Bool { SSL_is_init_finished(ssl) == 1 }

    /// Decrypts at most one record's worth of plaintext into `buffer`.
    func read(into buffer: inout ByteBuffer) -> ReadResult {
        OpenSSLErrors.clear()
        var rc: Int32 = 0
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: Self.maxRecordPlaintext) { space in
            var count = 0
            rc = SSL_read_ex(ssl, space.baseAddress, space.count, &count)
            return rc == 1 ? count : 0
        }
        if rc == 1 { return .data }
        let code = SSL_get_error(ssl, rc)
        switch code {
        case SSL_ERROR_WANT_READ: return .wantRead
        case SSL_ERROR_ZERO_RETURN:
            OpenSSLErrors.clear()
            return .closeNotify
        default: return .failed(.protocolError(openssl: OpenSSLErrors.drain(fallback: Self.describe(code))))
        }
    }

    /// Encrypts all of `plaintext`; the records wait in the output BIO.
    func write(_ plaintext: ByteBuffer) -> TLSError? {
        OpenSSLErrors.clear()
        return plaintext.withUnsafeReadableBytes { bytes -> TLSError? in
            var offset = 0
            while offset < bytes.count {
                var written = 0
                let rc = SSL_write_ex(ssl, bytes.baseAddress.map { $0 + offset }, bytes.count - offset, &written)
                if rc != 1 {
                    let code = SSL_get_error(ssl, rc)
                    return .protocolError(openssl: OpenSSLErrors.drain(fallback: Self.describe(code)))
                }
                offset += written
            }
            return nil
        }
    }

    /// Queues close_notify in the output BIO.
    func shutdown() {
        OpenSSLErrors.clear()
        _ = SSL_shutdown(ssl)
        OpenSSLErrors.clear()
    }

    /// Ciphertext waiting to be sent.
    var pendingCiphertext: Int { Int(BIO_ctrl_pending(networkOut)) }

    /// All ciphertext waiting to be sent, or nil when there is none.
    func takeCiphertext(allocator: ByteBufferAllocator) -> ByteBuffer? {
        var pending = pendingCiphertext
        guard pending > 0 else { return nil }
        var buffer = allocator.buffer(capacity: pending)
        while pending > 0 {
            let want = min(pending, Int(Int32.max))
            let n = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: want) { space in
                Int(max(0, BIO_read(networkOut, space.baseAddress, Int32(want))))
            }
            if n == 0 { break }
            pending = pendingCiphertext
        }
        return buffer.readableBytes > 0 ? buffer : nil
    }

    var negotiatedVersion: Int32 { SSL_version(ssl) }

    var isTLS13: Bool { negotiatedVersion == postern_tls1_3_version() }

    var info: TLSSessionInfo {
        let version = SSL_get_version(ssl).map { String(cString: $0) } ?? "unknown"
        var cipherName = "unknown"
        var bits: Int32 = 0
        if let cipher = SSL_get_current_cipher(ssl) {
            cipherName = SSL_CIPHER_get_name(cipher).map { String(cString: $0) } ?? "unknown"
            bits = SSL_CIPHER_get_bits(cipher, nil)
        }
        var subject: String?
        var verified = false
        if let cert = SSL_get1_peer_certificate(ssl) {
            subject = Self.subject(of: cert)
            verified = SSL_get_verify_result(ssl) == X509_V_OK
            X509_free(cert)
        }
        OpenSSLErrors.clear()
        return TLSSessionInfo(
            version: version, cipher: cipherName, bits: bits, peerCertificateSubject: subject,
            peerCertificateVerified: verified)
    }

    /// The subject of `cert` in RFC 2253 form ("CN=client,O=Example").
    static func subject(of cert: OpaquePointer) -> String? {
        guard let name = X509_get_subject_name(cert) else { return nil }
        return MemoryBIO.string { X509_NAME_print_ex($0, name, 0, postern_xn_flag_rfc2253()) >= 0 }
    }

    static func describe(_ code: Int32) -> String {
        switch code {
        case SSL_ERROR_SYSCALL: return "unexpected end of input"
        case SSL_ERROR_SSL: return "protocol failure"
        case SSL_ERROR_WANT_WRITE: return "output blocked"
        case SSL_ERROR_WANT_X509_LOOKUP: return "certificate lookup pending"
        default: return "SSL error \(code)"
        }
    }
}

/// A scratch memory BIO to collect what OpenSSL prints.
enum MemoryBIO {
    static func string(_ body: (OpaquePointer) -> Bool) -> String? {
        guard let method = BIO_s_mem(), let bio = BIO_new(method) else { return nil }
        defer { BIO_free(bio) }
        guard body(bio) else { return nil }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 512)
        while true {
            let n = BIO_read(bio, &chunk, Int32(chunk.count))
            if n <= 0 { break }
            bytes.append(contentsOf: chunk[0..<Int(n)])
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
