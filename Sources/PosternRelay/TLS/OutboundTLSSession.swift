/// TLS on one outbound SMTP connection, after the server accepted
/// STARTTLS: the handshake runs in `init`, and from then on every byte to
/// and from the server goes through `read` and `write`.
///
/// Blocking calls, each bounded by a deadline, for the relay's one thread
/// per connection; not for use from two threads at once. The session
/// borrows the socket: it never closes it and never changes its flags, and
/// the caller must keep it open while the session lives and not read or
/// write it directly. Any error ends the session (later calls throw
/// `sessionClosed`); the connection should then be closed.
public final class OutboundTLSSession {
    /// What the handshake agreed on and whether the certificate verified, for the log.
    public let info: OutboundTLSInfo
    private let engine: OutboundTLSEngine
    private let socket: DeadlineSocket
    private var state = State.open

    private enum State {
        case open
        /// A deadline passed: the stream is intact, so close_notify may still go out.
        case stalled
        /// The connection failed, the server closed it, or `shutdown` ran.
        case closed
    }

    /// The largest plaintext one TLS record carries.
    public static let maximumRecordPlaintext = 16 * 1024
    /// Enough for one full record with its header and expansion.
    static let receiveChunk = maximumRecordPlaintext + 2048
    /// How long an alert or close_notify may take to go out.
    public static let courtesySeconds = 1.0

    /// Runs the TLS handshake as the client on `socket`, a connected
    /// stream socket whose cleartext part is finished (the server's 220 to
    /// STARTTLS read, nothing after it).
    ///
    /// `peerName`: the MX host name (sent as SNI) or an address literal,
    /// which the certificate must name. With `verify`, a certificate that
    /// does not chain to the context's CA bundle or does not name the peer
    /// fails the handshake (`verificationFailed`), and a context without a
    /// bundle refuses at once (`verificationUnavailable`); without it, any
    /// certificate is accepted and `info` records whether it would have verified.
    public init(
        context: OutboundTLSContext, socket: Int32, peerName: String, verify: Bool, deadline: MonotonicDeadline
    ) throws(OutboundTLSError) {
        let peer = try OutboundTLSPeerName(peerName)
        if verify, let problem = context.trustStoreProblem { throw .verificationUnavailable(reason: problem) }
        let engine = try OutboundTLSEngine(context: context, peer: peer, verify: verify)
        let socket = DeadlineSocket(fd: socket)
        try Self.handshake(engine, socket, verify: verify, deadline: deadline)
        self.engine = engine
        self.socket = socket
        self.info = engine.info(trustStoreProblem: context.trustStoreProblem)
    }

    private static func handshake(
        _ engine: OutboundTLSEngine, _ socket: DeadlineSocket, verify: Bool, deadline: MonotonicDeadline
    ) throws(OutboundTLSError) {
        while true {
            switch engine.handshake() {
            case .done:
                try send(engine.takeCiphertext(), socket, .handshake, deadline)
                return
            case .wantRead:
                try send(engine.takeCiphertext(), socket, .handshake, deadline)
                try receive(into: engine, socket, .handshake, deadline)
            case .closeNotify:
                throw .connectionClosed(during: .handshake, reason: "close_notify")
            case .failed(let openssl):
                // The alert that explains the failure to the server, if it still listens.
                try? socket.send(engine.takeCiphertext(), deadline: deadline.capped(atSecondsFromNow: courtesySeconds))
                if verify, let reason = engine.verificationFailure { throw .verificationFailed(reason: reason) }
                throw .handshakeFailed(reason: openssl)
            }
        }
    }

    /// Whether bytes from the server already wait inside the session,
    /// decrypted or not yet: poll() on the socket alone then cannot tell
    /// whether a `read` would find input.
    public var hasBufferedInput: Bool { engine.hasBufferedInput }

    /// Appends the next plaintext from the server to `buffer`: at least one
    /// byte and at most `maximum`, waiting for it until `deadline`. The
    /// server's close_notify, or the connection's end, throws `connectionClosed`.
    @discardableResult
    public func read(
        into buffer: inout [UInt8], maximum: Int = OutboundTLSSession.maximumRecordPlaintext,
        deadline: MonotonicDeadline
    ) throws(OutboundTLSError) -> Int {
        try checkOpen()
        var chunk = [UInt8](repeating: 0, count: max(1, maximum))
        while true {
            let step = chunk.withUnsafeMutableBytes { engine.read(into: $0) }
            switch step {
            case .done(let count):
                buffer.append(contentsOf: chunk[0..<count])
                return count
            case .wantRead:
                // OpenSSL may owe the server something first (a TLS 1.3 key update's answer).
                try sendPending(.read, deadline)
                try receive(.read, deadline)
            case .closeNotify:
                state = .closed
                throw .connectionClosed(during: .read, reason: "close_notify")
            case .failed(let openssl):
                state = .closed
                throw .protocolError(openssl: openssl)
            }
        }
    }

    /// Encrypts and sends all of `bytes` by `deadline`, one record at a
    /// time so that no more than a record's ciphertext is held in memory.
    public func write(_ bytes: [UInt8], deadline: MonotonicDeadline) throws(OutboundTLSError) {
        try checkOpen()
        var offset = 0
        while offset < bytes.count {
            let end = min(bytes.count, offset + Self.maximumRecordPlaintext)
            let step = bytes[offset..<end].withUnsafeBytes { engine.write($0) }
            switch step {
            case .done(let count):
                offset += count
                try sendPending(.write, deadline)
            case .wantRead:
                // Only a renegotiation would ask for this, and it is off;
                // should the server's bytes be needed, they are read and kept.
                try sendPending(.write, deadline)
                try receive(.write, deadline)
            case .closeNotify:
                state = .closed
                throw .connectionClosed(during: .write, reason: "close_notify")
            case .failed(let openssl):
                state = .closed
                throw .protocolError(openssl: openssl)
            }
        }
    }

    /// Sends close_notify, best effort, waiting at most until `deadline`
    /// (and no longer than a second), without waiting for the server's.
    /// Nothing is sent after an error that broke the stream. The socket
    /// stays open for the caller to close.
    public func shutdown(deadline: MonotonicDeadline = .after(seconds: OutboundTLSSession.courtesySeconds)) {
        defer { state = .closed }
        guard state != .closed else { return }
        engine.shutdown()
        try? socket.send(engine.takeCiphertext(), deadline: deadline.capped(atSecondsFromNow: Self.courtesySeconds))
    }

    private func checkOpen() throws(OutboundTLSError) {
        guard state == .open else { throw .sessionClosed }
    }

    private func sendPending(_ phase: OutboundTLSError.Phase, _ deadline: MonotonicDeadline) throws(OutboundTLSError) {
        do throws(OutboundTLSError) {
            try Self.send(engine.takeCiphertext(), socket, phase, deadline)
        } catch {
            state = error == .timedOut(during: phase) ? .stalled : .closed
            throw error
        }
    }

    private func receive(_ phase: OutboundTLSError.Phase, _ deadline: MonotonicDeadline) throws(OutboundTLSError) {
        do throws(OutboundTLSError) {
            try Self.receive(into: engine, socket, phase, deadline)
        } catch {
            state = error == .timedOut(during: phase) ? .stalled : .closed
            throw error
        }
    }

    private static func send(
        _ bytes: [UInt8], _ socket: DeadlineSocket, _ phase: OutboundTLSError.Phase, _ deadline: MonotonicDeadline
    ) throws(OutboundTLSError) {
        guard !bytes.isEmpty else { return }
        do throws(DeadlineSocket.Failure) {
            try socket.send(bytes, deadline: deadline)
        } catch {
            throw error.tlsError(phase)
        }
    }

    private static func receive(
        into engine: OutboundTLSEngine, _ socket: DeadlineSocket, _ phase: OutboundTLSError.Phase,
        _ deadline: MonotonicDeadline
    ) throws(OutboundTLSError) {
        let bytes: [UInt8]
        do throws(DeadlineSocket.Failure) {
            bytes = try socket.receive(maximum: receiveChunk, deadline: deadline)
        } catch {
            throw error.tlsError(phase)
        }
        guard !bytes.isEmpty else {
            throw .connectionClosed(during: phase, reason: "end of stream without close_notify")
        }
        guard engine.feed(bytes) else { throw .protocolError(openssl: "out of memory for input") }
    }
}

extension DeadlineSocket.Failure {
    fileprivate func tlsError(_ phase: OutboundTLSError.Phase) -> OutboundTLSError {
        switch self {
        case .timedOut: return .timedOut(during: phase)
        case .failed(let reason): return .connectionClosed(during: phase, reason: reason)
        }
    }
}
