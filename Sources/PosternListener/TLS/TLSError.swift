import COpenSSL
import OpenSSLSupport

/// Everything that can go wrong with TLS, typed. Errors that come from
/// OpenSSL carry its error string (`error:0A00010B:SSL routines::wrong
/// version number`), taken from the thread's error queue, which is then
/// cleared so that one connection's error never shows up in another's.
public enum TLSError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A file named in the configuration cannot be opened.
    case fileUnreadable(path: String, reason: String)
    /// The certificate chain file does not hold a usable PEM chain.
    case invalidCertificateChain(path: String, openssl: String)
    /// The private key file does not hold a usable, unencrypted PEM key.
    case invalidPrivateKey(path: String, openssl: String)
    /// The key is not the certificate's key.
    case keyMismatch(certificatePath: String, keyPath: String, openssl: String)
    /// The CA file for client certificates is not usable.
    case invalidCAFile(path: String, openssl: String)
    /// No TLS 1.2 cipher in the list is known or allowed.
    case invalidCipherList(String, openssl: String)
    /// No TLS 1.3 cipher suite in the list is known.
    case invalidCipherSuites(String, openssl: String)
    /// OpenSSL could not create a context or a connection (out of memory, or a broken library).
    case contextCreationFailed(openssl: String)
    case sessionCreationFailed(openssl: String)
    /// The handshake failed: the client's bytes were not TLS, it offered
    /// no common version or cipher, or it sent an alert.
    case handshakeFailed(openssl: String)
    /// The client went away (end of input, a reset) before the handshake finished.
    case closedDuringHandshake(reason: String)
    /// The handshake did not finish within the allowed time.
    case handshakeTimedOut(seconds: Int64)
    /// An established connection received bytes that do not decrypt or
    /// do not follow the protocol.
    case protocolError(openssl: String)
    /// The application queued more plaintext than allowed while it could
    /// not be sent (during the handshake).
    case pendingOutputLimitExceeded(limit: Int)
    /// A write after close_notify was sent.
    case outputClosed

    public var description: String {
        switch self {
        case .fileUnreadable(let path, let reason): return "cannot read \(path): \(reason)"
        case .invalidCertificateChain(let path, let e): return "invalid certificate chain in \(path): \(e)"
        case .invalidPrivateKey(let path, let e): return "invalid or encrypted private key in \(path): \(e)"
        case .keyMismatch(let cert, let key, let e):
            return "private key \(key) does not match certificate \(cert): \(e)"
        case .invalidCAFile(let path, let e): return "invalid CA file \(path): \(e)"
        case .invalidCipherList(let list, let e): return "no usable cipher in TLS 1.2 cipher list \"\(list)\": \(e)"
        case .invalidCipherSuites(let list, let e): return "no usable TLS 1.3 cipher suite in \"\(list)\": \(e)"
        case .contextCreationFailed(let e): return "cannot create TLS context: \(e)"
        case .sessionCreationFailed(let e): return "cannot create TLS connection: \(e)"
        case .handshakeFailed(let e): return "TLS handshake failed: \(e)"
        case .closedDuringHandshake(let reason): return "connection lost during TLS handshake: \(reason)"
        case .handshakeTimedOut(let s): return "TLS handshake timed out after \(s) s"
        case .protocolError(let e): return "TLS protocol error: \(e)"
        case .pendingOutputLimitExceeded(let limit): return "more than \(limit) bytes of output waiting for TLS"
        case .outputClosed: return "write after TLS close_notify"
        }
    }
}
