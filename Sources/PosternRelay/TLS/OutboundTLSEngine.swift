import COpenSSL
import OpenSSLSupport

/// One outbound connection's OpenSSL `SSL`, between two memory BIOs:
/// OpenSSL never touches the socket. Ciphertext from the server goes in
/// with `feed`, ciphertext for it comes out of `takeCiphertext`, and
/// `OutboundTLSSession` moves the bytes. That keeps the socket's own flags
/// as the I/O layer set them, puts every wait under a poll() deadline, and
/// lets sends use MSG_NOSIGNAL, so a server that resets the connection
/// cannot kill the relay with SIGPIPE. One thread at a time.
final class OutboundTLSEngine {
    /// The outcome of one OpenSSL call.
    enum Step: Equatable {
        /// Finished: the handshake, or this many bytes read or written.
        case done(Int)
        /// OpenSSL needs more bytes from the server first.
        case wantRead
        /// The server sent close_notify.
        case closeNotify
        case failed(openssl: String)
    }

    private let ssl: OpaquePointer
    /// Ciphertext from the server, read by OpenSSL.
    private let networkIn: OpaquePointer
    /// Ciphertext for the server, written by OpenSSL.
    private let networkOut: OpaquePointer
    /// Keeps the `SSL_CTX`'s Swift owner alive as long as this connection.
    private let context: OutboundTLSContext

    init(context: OutboundTLSContext, peer: OutboundTLSPeerName, verify: Bool) throws(OutboundTLSError) {
        guard let (ssl, input, output) = MemoryBIOConnection.make(context.pointer) else {
            throw .sessionCreationFailed(openssl: OpenSSLErrors.drain())
        }
        SSL_set_connect_state(ssl)
        do throws(OutboundTLSError) {
            try Self.expect(peer, verify: verify, on: ssl)
        } catch {
            SSL_free(ssl)
            throw error
        }
        self.ssl = ssl
        self.networkIn = input
        self.networkOut = output
        self.context = context
    }

    deinit { SSL_free(ssl) }

    /// SNI, the name or address the certificate must carry, and whether a
    /// certificate that does not verify ends the handshake. The check runs
    /// either way; without `verify` its result is only recorded.
    private static func expect(_ peer: OutboundTLSPeerName, verify: Bool, on ssl: OpaquePointer)
        throws(OutboundTLSError)
    {
        SSL_set_verify(ssl, verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, nil)
        switch peer.kind {
        case .dnsName:
            // "*.example.com" matches one whole label; "mx*.example.com" matches nothing.
            SSL_set_hostflags(ssl, UInt32(X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS))
            guard SSL_set1_host(ssl, peer.value) == 1 else {
                throw .sessionCreationFailed(openssl: OpenSSLErrors.drain(fallback: "cannot set the peer name"))
            }
            let sent = peer.value.withCString { name in
                SSL_ctrl(
                    ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, Int(TLSEXT_NAMETYPE_host_name),
                    UnsafeMutableRawPointer(mutating: name))
            }
            guard sent == 1 else {
                throw .sessionCreationFailed(openssl: OpenSSLErrors.drain(fallback: "cannot set SNI"))
            }
        case .ipAddress:
            guard let parameters = SSL_get0_param(ssl), X509_VERIFY_PARAM_set1_ip_asc(parameters, peer.value) == 1
            else {
                throw .sessionCreationFailed(openssl: OpenSSLErrors.drain(fallback: "cannot set the peer address"))
            }
        }
        OpenSSLErrors.clear()
    }

    /// Hands ciphertext from the server to OpenSSL. False only if memory ran out.
    func feed(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let chunk = min(raw.count - offset, Int(Int32.max))
                let n = BIO_write(networkIn, raw.baseAddress.map { $0 + offset }, Int32(chunk))
                if n <= 0 { return false }
                offset += Int(n)
            }
            return true
        }
    }

    /// Ciphertext waiting to be sent, taken out of OpenSSL.
    func takeCiphertext() -> [UInt8] {
        guard BIO_ctrl_pending(networkOut) > 0 else { return [] }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while BIO_ctrl_pending(networkOut) > 0 {
            let n = chunk.withUnsafeMutableBytes { BIO_read(networkOut, $0.baseAddress, Int32($0.count)) }
            if n <= 0 { break }
            bytes.append(contentsOf: chunk[0..<Int(n)])
        }
        return bytes
    }

    /// Whether a read can make progress without the socket: plaintext or
    /// ciphertext from the server is already inside OpenSSL.
    var hasBufferedInput: Bool { SSL_pending(ssl) > 0 || BIO_ctrl_pending(networkIn) > 0 }

    func handshake() -> Step {
        OpenSSLErrors.clear()
        let rc = SSL_do_handshake(ssl)
        return rc == 1 ? .done(0) : failure(rc)
    }

    /// Decrypts at most `buffer.count` bytes of plaintext into `buffer`.
    func read(into buffer: UnsafeMutableRawBufferPointer) -> Step {
        OpenSSLErrors.clear()
        var count = 0
        let rc = SSL_read_ex(ssl, buffer.baseAddress, buffer.count, &count)
        return rc == 1 ? .done(count) : failure(rc)
    }

    /// Encrypts `bytes` into the output BIO, which always takes all of them.
    func write(_ bytes: UnsafeRawBufferPointer) -> Step {
        guard !bytes.isEmpty else { return .done(0) }
        OpenSSLErrors.clear()
        var count = 0
        let rc = SSL_write_ex(ssl, bytes.baseAddress, bytes.count, &count)
        return rc == 1 ? .done(count) : failure(rc)
    }

    /// Queues close_notify in the output BIO. We do not wait for the
    /// server's: the connection is closed right after.
    func shutdown() {
        OpenSSLErrors.clear()
        _ = SSL_shutdown(ssl)
        OpenSSLErrors.clear()
    }

    private func failure(_ rc: Int32) -> Step {
        let code = SSL_get_error(ssl, rc)
        switch code {
        case SSL_ERROR_WANT_READ:
            OpenSSLErrors.clear()
            return .wantRead
        case SSL_ERROR_ZERO_RETURN:
            OpenSSLErrors.clear()
            return .closeNotify
        default:
            // WANT_WRITE included: a memory BIO takes every byte, so it can
            // only mean memory ran out.
            return .failed(openssl: OpenSSLErrors.drain(fallback: Self.describe(code)))
        }
    }

    private static func describe(_ code: Int32) -> String {
        switch code {
        case SSL_ERROR_SYSCALL: return "unexpected end of input"
        case SSL_ERROR_SSL: return "protocol failure"
        case SSL_ERROR_WANT_WRITE: return "output buffer full"
        default: return "SSL error \(code)"
        }
    }

    /// Why the certificate check failed, or nil while it has not (OpenSSL
    /// keeps X509_V_OK until a check fails).
    var verificationFailure: String? {
        let result = SSL_get_verify_result(ssl)
        guard result != X509_V_OK else { return nil }
        return X509_verify_cert_error_string(result).map { String(cString: $0) } ?? "verification error \(result)"
    }

    /// What the handshake agreed on. `trustStoreProblem` is the context's:
    /// without a CA bundle nothing verifies, and that, not OpenSSL's
    /// "unable to get local issuer certificate", is the reason to log.
    func info(trustStoreProblem: String?) -> OutboundTLSInfo {
        let version = SSL_get_version(ssl).map { String(cString: $0) } ?? "unknown"
        var cipherName = "unknown"
        var bits: Int32 = 0
        var algorithmBits: Int32 = 0
        if let cipher = SSL_get_current_cipher(ssl) {
            cipherName = SSL_CIPHER_get_name(cipher).map { String(cString: $0) } ?? "unknown"
            bits = SSL_CIPHER_get_bits(cipher, &algorithmBits)
        }
        var commonName: String?
        var verificationError: String?
        if let certificate = SSL_get1_peer_certificate(ssl) {
            commonName = Self.commonName(of: certificate).map(OutboundTLSInfo.loggable)
            X509_free(certificate)
            if let trustStoreProblem {
                verificationError = "no CA bundle: \(trustStoreProblem)"
            } else {
                verificationError = verificationFailure
            }
        } else {
            verificationError = "no server certificate"
        }
        OpenSSLErrors.clear()
        return OutboundTLSInfo(
            version: version, cipher: cipherName, bits: bits, algorithmBits: algorithmBits,
            peerCommonName: commonName, verified: verificationError == nil, verificationError: verificationError)
    }

    /// The subject's (first) common name, as UTF-8.
    private static func commonName(of certificate: OpaquePointer) -> String? {
        guard let subject = X509_get_subject_name(certificate) else { return nil }
        let index = X509_NAME_get_index_by_NID(subject, NID_commonName, -1)
        guard index >= 0, let entry = X509_NAME_get_entry(subject, index), let data = X509_NAME_ENTRY_get_data(entry)
        else { return nil }
        var utf8: UnsafeMutablePointer<UInt8>?
        let length = ASN1_STRING_to_UTF8(&utf8, data)
        guard length >= 0, let utf8 else { return nil }
        defer { CRYPTO_free(utf8, #fileID, #line) }
        return String(decoding: UnsafeBufferPointer(start: utf8, count: Int(length)), as: UTF8.self)
    }
}
