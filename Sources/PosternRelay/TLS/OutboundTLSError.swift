import COpenSSL
import OpenSSLSupport

/// Everything that can go wrong with outbound TLS, typed. Every error from
/// a session leaves it unusable (later reads and writes throw
/// `sessionClosed`): the SMTP client abandons the connection on any of them.
public enum OutboundTLSError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What the session was doing when the connection failed or the deadline passed.
    public enum Phase: String, Equatable, Sendable {
        case handshake
        case read
        case write
    }

    /// OpenSSL could not create the context (out of memory, or a broken library).
    case contextCreationFailed(openssl: String)
    /// No TLS 1.2 cipher in the list is known or allowed.
    case invalidCipherList(String, openssl: String)
    /// Verification was asked for, but the context has no CA bundle to
    /// verify against; the reason says why the bundle did not load.
    case verificationUnavailable(reason: String)
    /// The peer name is empty, too long, or holds characters no host name
    /// or address literal has (a NUL would silently shorten the name OpenSSL checks).
    case invalidPeerName(String)
    /// OpenSSL could not create or set up the connection.
    case sessionCreationFailed(openssl: String)
    /// The handshake failed: no common version or cipher, an alert from the
    /// server, bytes that are not TLS.
    case handshakeFailed(reason: String)
    /// The server's certificate chain or name did not verify (verification
    /// on); the reason is OpenSSL's text ("hostname mismatch").
    case verificationFailed(reason: String)
    /// The deadline passed while waiting for the server.
    case timedOut(during: Phase)
    /// The server closed or reset the connection, or sent close_notify.
    case connectionClosed(during: Phase, reason: String)
    /// An established connection received bytes that do not decrypt or do
    /// not follow the protocol.
    case protocolError(openssl: String)
    /// The session was shut down, or an earlier error ended it.
    case sessionClosed

    public var description: String {
        switch self {
        case .contextCreationFailed(let e): return "cannot create the outbound TLS context: \(e)"
        case .invalidCipherList(let list, let e): return "no usable cipher in TLS 1.2 cipher list \"\(list)\": \(e)"
        case .verificationUnavailable(let reason): return "cannot verify the server certificate: \(reason)"
        case .invalidPeerName(let name): return "invalid TLS peer name \"\(name)\""
        case .sessionCreationFailed(let e): return "cannot create the TLS connection: \(e)"
        case .handshakeFailed(let reason): return "TLS handshake failed: \(reason)"
        case .verificationFailed(let reason): return "server certificate verification failed: \(reason)"
        case .timedOut(let phase): return "timed out \(phase.activity)"
        case .connectionClosed(let phase, let reason): return "connection closed \(phase.activity): \(reason)"
        case .protocolError(let e): return "TLS protocol error: \(e)"
        case .sessionClosed: return "the TLS session is closed"
        }
    }
}

extension OutboundTLSError.Phase {
    var activity: String {
        switch self {
        case .handshake: return "during the TLS handshake"
        case .read: return "while reading over TLS"
        case .write: return "while writing over TLS"
        }
    }
}
