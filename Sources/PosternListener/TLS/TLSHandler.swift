import Glibc
import NIOCore
import OpenSSLSupport

/// Raised inbound, after `onHandshake`, for handlers that prefer events to callbacks.
public enum TLSEvent: Sendable, Equatable {
    case handshakeCompleted(TLSSessionInfo)
}

/// Server-side TLS on a NIO channel with the system OpenSSL.
///
/// Put it first in the pipeline: after the cleartext `220` reply to
/// STARTTLS has been written (RFC 3207), or in the child channel
/// initializer for implicit TLS (RFC 8314). It speaks ciphertext to the
/// network and plaintext `ByteBuffer`s to the handlers after it.
///
/// - The handshake starts as soon as the handler is in an active channel
///   and is driven by the bytes that arrive; it reads from the network on
///   its own while it needs handshake bytes, whether or not the
///   application is reading.
/// - Plaintext written before the handshake is done waits (up to
///   `maxPendingOutput` bytes, then the connection is closed); each write's
///   promise is completed when its ciphertext has been written to the socket.
/// - After the handshake the network is read only when the application asks
///   (`read()`, or autoRead), so a client cannot make it buffer: one socket
///   read gives at most that much plaintext.
/// - Closing sends close_notify, waits (bounded) for it to be written, then
///   closes. A received close_notify is the end of input: with
///   `allowRemoteHalfClosure` on a TLS 1.3 connection the application gets
///   `ChannelEvent.inputClosed` and may still write; otherwise the handler
///   answers with its own close_notify and closes the channel.
/// - A failed handshake, a client that leaves during it, a handshake
///   timeout or a protocol error after it fire `errorCaught` with a
///   `TLSError` (carrying OpenSSL's message) and close this channel only.
public final class TLSServerHandler: ChannelDuplexHandler, RemovableChannelHandler {
    public typealias InboundIn = ByteBuffer
    public typealias InboundOut = ByteBuffer
    public typealias OutboundIn = ByteBuffer
    public typealias OutboundOut = ByteBuffer

    public static let defaultMaxPendingOutput = 1 << 20
    static let endOfInput = "end of input"
    /// Plaintext handed on in one `channelRead` at most.
    static let maxPlaintextChunk = 64 << 10
    /// Plaintext encrypted at a time for one write.
    static let maxEncryptChunk = 64 << 10

    private enum State {
        /// In the pipeline, the channel not yet active.
        case idle
        case handshaking
        case active
        /// close_notify sent for a full close; the channel closes when it is written.
        case closing
        /// Closed, failed or removed: nothing more goes through OpenSSL.
        case closed
    }

    private let tlsContext: TLSContext
    private let onHandshake: (TLSSessionInfo) -> Void
    private let handshakeTimeout: TimeAmount
    private let closeTimeout: TimeAmount
    private let maxPendingOutput: Int

    private var session: TLSSession?
    private var state = State.idle
    private var pendingWrites = CircularBuffer<(data: ByteBuffer, promise: EventLoopPromise<Void>?)>()
    private var pendingBytes = 0
    private var inputClosed = false
    private var outputClosed = false
    private var applicationWantsRead = false
    private var deliveredPlaintext = false
    private var handshakeTimer: Scheduled<Void>?
    private var closeTimer: Scheduled<Void>?
    private var closePromise: EventLoopPromise<Void>?

    /// What the handshake agreed on, once it is done.
    public private(set) var sessionInfo: TLSSessionInfo?

    /// - Parameters:
    ///   - onHandshake: called on the channel's event loop when the
    ///     handshake is complete, before any buffered output is encrypted.
    ///   - handshakeTimeout: the whole handshake, from the handler's start.
    ///   - closeTimeout: how long a close waits for close_notify to be written.
    ///   - maxPendingOutput: plaintext bytes allowed to wait for the handshake.
    public init(
        context: TLSContext, handshakeTimeout: TimeAmount = .seconds(300), closeTimeout: TimeAmount = .seconds(5),
        maxPendingOutput: Int = TLSServerHandler.defaultMaxPendingOutput,
        onHandshake: @escaping (TLSSessionInfo) -> Void = { _ in }
    ) {
        self.tlsContext = context
        self.onHandshake = onHandshake
        self.handshakeTimeout = handshakeTimeout
        self.closeTimeout = closeTimeout
        self.maxPendingOutput = maxPendingOutput
    }

    // MARK: lifecycle

    public func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { startHandshake(context) }
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        cancelTimers()
        state = .closed
        failPendingWrites(ChannelError.ioOnClosedChannel)
        closePromise?.fail(ChannelError.ioOnClosedChannel)
        closePromise = nil
        session = nil  // SSL_free, with both BIOs
    }

    public func channelActive(context: ChannelHandlerContext) {
        if state == .idle {
            startHandshake(context)
        } else if state == .handshaking {
            // Added in a child channel initializer, the handshake started in
            // handlerAdded, before the channel was registered: that read
            // request went nowhere, and the handlers after this one may
            // turn autoRead off before NIO's own first read.
            context.read()
        }
        context.fireChannelActive()
    }

    public func channelInactive(context: ChannelHandlerContext) {
        let previous = state
        state = .closed
        cancelTimers()
        failPendingWrites(ChannelError.ioOnClosedChannel)
        // Closed under a close that was waiting for close_notify to be written: that close is done.
        closePromise?.succeed()
        closePromise = nil
        if previous == .handshaking {
            context.fireErrorCaught(TLSError.closedDuringHandshake(reason: Self.endOfInput))
        }
        context.fireChannelInactive()
    }

    private func startHandshake(_ context: ChannelHandlerContext) {
        do throws(TLSError) {
            session = try TLSSession(context: tlsContext)
        } catch {
            fail(context, error)
            return
        }
        state = .handshaking
        handshakeTimer = context.eventLoop.assumeIsolated().scheduleTask(in: handshakeTimeout) { [self] in
            guard state == .handshaking else { return }
            fail(context, .handshakeTimedOut(seconds: handshakeTimeout.nanoseconds / 1_000_000_000))
        }
        process(context)
        if state == .handshaking { context.read() }
    }

    // MARK: inbound

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard state == .handshaking || state == .active, !inputClosed, let session else { return }
        guard session.receive(unwrapInboundIn(data)) else {
            fail(context, .protocolError(openssl: OpenSSLErrors.drain(fallback: "out of memory")))
            return
        }
        process(context)
    }

    public func channelReadComplete(context: ChannelHandlerContext) {
        if deliveredPlaintext {
            deliveredPlaintext = false
            context.fireChannelReadComplete()
        }
        // Handshake bytes are read regardless of the application; a partial
        // record must not swallow the application's read request.
        if state == .handshaking || (state == .active && applicationWantsRead && !inputClosed) {
            context.read()
        }
    }

    public func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard let event = event as? ChannelEvent, event == .inputClosed else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        // TCP end of input (the channel allows half-closure).
        switch state {
        case .idle, .handshaking:
            fail(context, .closedDuringHandshake(reason: Self.endOfInput))
        case .active:
            // No close_notify came first: an unclean end, passed on as an end
            // of input. SMTP frames its own data, so nothing accepted is
            // truncated silently.
            if !inputClosed {
                inputClosed = true
                context.fireUserInboundEventTriggered(event)
            }
        case .closing, .closed:
            break
        }
    }

    /// During the handshake an error from below (a reset) is the client
    /// going away: reported once, as a `TLSError`, and the channel closed.
    public func errorCaught(context: ChannelHandlerContext, error: Error) {
        guard state == .handshaking else {
            context.fireErrorCaught(error)
            return
        }
        let reason = (error as? IOError).map { String(cString: strerror($0.errnoCode)) } ?? "\(error)"
        fail(context, .closedDuringHandshake(reason: reason))
    }

    /// Runs the handshake, then decrypts whatever has arrived.
    private func process(_ context: ChannelHandlerContext) {
        guard let session else { return }
        if state == .handshaking {
            switch session.handshake() {
            case .wantRead:
                writeCiphertext(context, flush: true)
                return
            case .failed(let error):
                fail(context, error)
                return
            case .complete:
                handshakeCompleted(context, session)
            }
        }
        if state == .active && !inputClosed { readPlaintext(context, session) }
    }

    private func handshakeCompleted(_ context: ChannelHandlerContext, _ session: TLSSession) {
        handshakeTimer?.cancel()
        handshakeTimer = nil
        state = .active
        writeCiphertext(context, flush: false)  // the last flight and the session tickets
        let info = session.info
        sessionInfo = info
        onHandshake(info)
        guard state == .active else { return }
        context.fireUserInboundEventTriggered(TLSEvent.handshakeCompleted(info))
        guard state == .active else { return }
        var writes = pendingWrites
        pendingWrites.removeAll()
        pendingBytes = 0
        while let write = writes.popFirst() {
            guard state == .active, !outputClosed else {
                write.promise?.fail(ChannelError.ioOnClosedChannel)
                continue
            }
            encryptAndWrite(context, write.data, write.promise)
        }
        context.flush()
    }

    private func readPlaintext(_ context: ChannelHandlerContext, _ session: TLSSession) {
        var buffer = context.channel.allocator.buffer(capacity: TLSSession.maxRecordPlaintext)
        var outcome = TLSSession.ReadResult.wantRead
        reading: while state == .active && !inputClosed {
            outcome = session.read(into: &buffer)
            switch outcome {
            case .data:
                if buffer.readableBytes >= Self.maxPlaintextChunk {
                    deliver(context, buffer)
                    buffer = context.channel.allocator.buffer(capacity: TLSSession.maxRecordPlaintext)
                }
            case .wantRead, .closeNotify, .failed:
                break reading
            }
        }
        if buffer.readableBytes > 0 && state == .active && !inputClosed { deliver(context, buffer) }
        switch outcome {
        case .closeNotify where state == .active && !inputClosed:
            receivedCloseNotify(context, session)
        case .failed(let error):
            fail(context, error)
        default:
            // A KeyUpdate answer, an alert: whatever OpenSSL wrote while reading.
            if state == .active || state == .closing { writeCiphertext(context, flush: true) }
        }
    }

    private func deliver(_ context: ChannelHandlerContext, _ buffer: ByteBuffer) {
        deliveredPlaintext = true
        applicationWantsRead = false
        context.fireChannelRead(wrapInboundOut(buffer))
    }

    private func receivedCloseNotify(_ context: ChannelHandlerContext, _ session: TLSSession) {
        inputClosed = true
        let halfClosure = (try? context.channel.syncOptions?.getOption(.allowRemoteHalfClosure)) ?? false
        if halfClosure && session.isTLS13 {
            // TLS 1.3 allows the other direction to go on (RFC 8446 §6.1).
            context.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        } else {
            // TLS 1.2 requires an answer and a close; so does a channel
            // that does not do half-closure.
            closeAll(context, promise: nil)
        }
    }

    // MARK: outbound

    public func read(context: ChannelHandlerContext) {
        applicationWantsRead = true
        context.read()
    }

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let buffer = unwrapOutboundIn(data)
        switch state {
        case .idle, .handshaking:
            guard pendingBytes + buffer.readableBytes <= maxPendingOutput else {
                let error = TLSError.pendingOutputLimitExceeded(limit: maxPendingOutput)
                promise?.fail(error)
                fail(context, error)
                return
            }
            pendingBytes += buffer.readableBytes
            pendingWrites.append((buffer, promise))
        case .active where !outputClosed:
            encryptAndWrite(context, buffer, promise)
        case .active, .closing:
            promise?.fail(TLSError.outputClosed)
        case .closed:
            promise?.fail(ChannelError.ioOnClosedChannel)
        }
    }

    /// Output waiting for the handshake is flushed when the handshake is done.
    public func flush(context: ChannelHandlerContext) {
        switch state {
        case .idle, .handshaking: break
        case .active, .closing, .closed: context.flush()
        }
    }

    public func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        switch mode {
        case .input:
            context.close(mode: .input, promise: promise)
        case .output:
            guard state == .active, !outputClosed, let session else {
                context.close(mode: .output, promise: promise)
                return
            }
            outputClosed = true
            session.shutdown()
            writeCiphertext(context, flush: true)
            // The socket's write side is shut down after close_notify is written.
            context.close(mode: .output, promise: promise)
        case .all:
            closeAll(context, promise: promise)
        }
    }

    private func closeAll(_ context: ChannelHandlerContext, promise: EventLoopPromise<Void>?) {
        switch state {
        case .idle, .handshaking, .closed:
            state = .closed
            cancelTimers()
            failPendingWrites(ChannelError.ioOnClosedChannel)
            context.close(mode: .all, promise: promise)
        case .closing:
            if let promise {
                if let closePromise {
                    closePromise.futureResult.cascade(to: promise)
                } else {
                    context.close(mode: .all, promise: promise)
                }
            }
        case .active:
            state = .closing
            closePromise = promise
            guard !outputClosed, let session else {
                finishClose(context)
                return
            }
            outputClosed = true
            session.shutdown()
            guard let alert = session.takeCiphertext(allocator: context.channel.allocator) else {
                finishClose(context)
                return
            }
            let written = context.eventLoop.makePromise(of: Void.self)
            context.writeAndFlush(wrapOutboundOut(alert), promise: written)
            // Do not wait for the peer's close_notify (RFC 8446 §6.1 allows
            // that); do wait, bounded, for ours to reach the socket.
            closeTimer = context.eventLoop.assumeIsolated().scheduleTask(in: closeTimeout) { [self] in
                finishClose(context)
            }
            written.futureResult.assumeIsolated().whenComplete { [self] _ in finishClose(context) }
        }
    }

    private func finishClose(_ context: ChannelHandlerContext) {
        closeTimer?.cancel()
        closeTimer = nil
        guard state == .closing else { return }
        state = .closed
        let promise = closePromise
        closePromise = nil
        context.close(mode: .all, promise: promise)
    }

    /// Encrypts `data` in bounded chunks; the last chunk's network write
    /// carries the caller's promise, so it completes once all of it is written.
    private func encryptAndWrite(
        _ context: ChannelHandlerContext, _ data: ByteBuffer, _ promise: EventLoopPromise<Void>?
    ) {
        guard let session else {
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        guard data.readableBytes > 0 else {
            context.write(wrapOutboundOut(data), promise: promise)
            return
        }
        var remaining = data
        while remaining.readableBytes > 0 {
            guard let chunk = remaining.readSlice(length: min(remaining.readableBytes, Self.maxEncryptChunk)) else {
                break
            }
            if let error = session.write(chunk) {
                promise?.fail(error)
                fail(context, error)
                return
            }
            let last = remaining.readableBytes == 0
            if let ciphertext = session.takeCiphertext(allocator: context.channel.allocator) {
                context.write(wrapOutboundOut(ciphertext), promise: last ? promise : nil)
            } else if last {
                promise?.succeed()
            }
        }
    }

    private func writeCiphertext(_ context: ChannelHandlerContext, flush: Bool) {
        guard let ciphertext = session?.takeCiphertext(allocator: context.channel.allocator) else { return }
        context.write(wrapOutboundOut(ciphertext), promise: nil)
        if flush { context.flush() }
    }

    // MARK: failure

    /// Sends whatever alert OpenSSL queued, reports `error`, closes this channel.
    private func fail(_ context: ChannelHandlerContext, _ error: TLSError) {
        guard state != .closed else { return }
        state = .closed
        cancelTimers()
        OpenSSLErrors.clear()
        if let alert = session?.takeCiphertext(allocator: context.channel.allocator) {
            context.writeAndFlush(wrapOutboundOut(alert), promise: nil)
        }
        failPendingWrites(error)
        context.fireErrorCaught(error)
        let promise = closePromise
        closePromise = nil
        context.close(mode: .all, promise: promise)
    }

    private func failPendingWrites(_ error: Error) {
        let writes = pendingWrites
        pendingWrites.removeAll()
        pendingBytes = 0
        for write in writes { write.promise?.fail(error) }
    }

    private func cancelTimers() {
        handshakeTimer?.cancel()
        handshakeTimer = nil
        closeTimer?.cancel()
        closeTimer = nil
    }
}

@available(*, unavailable)
extension TLSServerHandler: Sendable {}
