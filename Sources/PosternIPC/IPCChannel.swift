import CShims
import Glibc
import NIOConcurrencyHelpers
import PosternCore

public enum IPCError: Error, Equatable, Sendable {
    case closed
    case sendFailed(errno: Int32)
    case violation(IPCDecodeError)
    case peerFailure(SMTPReply)
    /// No answer within the request's deadline: the peer is stopped, hung
    /// or overloaded. Its answer, should it still come, is dropped.
    case timedOut
}

/// Why a channel stopped: the peer went away, or it sent something that does
/// not decode (a protocol violation, to be reported to the master).
public enum IPCCloseReason: Sendable, Equatable {
    case endOfFile
    case violation(String)
    case closedLocally
}

/// One end of a SOCK_SEQPACKET socketpair. Receiving runs on a thread of its
/// own (blocking recvmsg, so descriptors arrive with their frame); sending is
/// a locked sendmsg. Requests get a fresh id and their completion runs when
/// the response with that id arrives, or with `.closed` if the channel ends.
public final class IPCChannel: Sendable {
    public typealias Completion = @Sendable (Result<Frame, IPCError>) -> Void

    public let peer: Role
    /// This process's role: with `peer`, the edge every received frame's
    /// kind must travel (`IPCMessage.Kind.spec`).
    public let local: Role
    public let fd: Int32
    private let state = NIOLockedValueBox(State())

    /// Everything that changes, under one lock.
    private struct State {
        var nextRequestID: UInt32 = 1
        var pending: [UInt32: Completion] = [:]
        /// Monotonic deadlines of the pending requests that have one.
        var deadlines: [UInt32: Double] = [:]
        /// Requests given up on; their answer may still arrive and is then
        /// no protocol violation. Bounded: the oldest are forgotten first.
        var expired = ExpiredRequests()
        /// What to do with an answer that came after its deadline (the
        /// listener aborts a spool file the queue opened too late); by
        /// default its descriptors are closed.
        var lateResponseHandler: (@Sendable (Frame) -> Void)?
        /// Registered with the deadline thread (once, at the first request
        /// with a deadline; it lets go of the channel when it is closed).
        var watched = false
        var isClosed = false
        /// The descriptor has been closed; its number may already belong
        /// to another channel, so nothing may touch it any more.
        var descriptorReleased = false
    }

    public init(fd: Int32, peer: Role, local: Role) {
        self.fd = fd
        self.peer = peer
        self.local = local
    }

    // MARK: sending

    public func send(_ message: IPCMessage, descriptors: [Int32] = []) throws(IPCError) {
        try write(FrameCodec.encode(message, requestID: 0, isResponse: false), descriptors: descriptors)
    }

    public func respond(to requestID: UInt32, with message: IPCMessage, descriptors: [Int32] = []) throws(IPCError) {
        try write(FrameCodec.encode(message, requestID: requestID, isResponse: true), descriptors: descriptors)
    }

    /// Sends a request; `completion` runs on the reader thread (or the caller's
    /// thread if sending fails, or the deadline thread if `timeout` seconds
    /// pass without an answer: then with `.timedOut`).
    public func request(
        _ message: IPCMessage, descriptors: [Int32] = [], timeout: Double? = nil,
        completion: @escaping Completion
    ) {
        let now = timeout.map { MonotonicClock.now() + $0 }
        let (id, startWatching): (UInt32?, Bool) = state.withLockedValue { state in
            if state.isClosed { return (nil, false) }
            let id = state.nextRequestID
            state.nextRequestID = state.nextRequestID == UInt32.max ? 1 : state.nextRequestID + 1
            state.pending[id] = completion
            guard let deadline = now else { return (id, false) }
            state.deadlines[id] = deadline
            defer { state.watched = true }
            return (id, !state.watched)
        }
        if startWatching { IPCDeadlines.shared.watch(self) }
        guard let id else {
            completion(.failure(.closed))
            return
        }
        do {
            try write(FrameCodec.encode(message, requestID: id, isResponse: false), descriptors: descriptors)
        } catch {
            let stored = state.withLockedValue { state in
                state.deadlines[id] = nil
                return state.pending.removeValue(forKey: id)
            }
            stored?(.failure(error))
        }
    }

    /// Sets what happens to an answer that arrives after its deadline.
    public func onLateResponse(_ handler: @escaping @Sendable (Frame) -> Void) {
        state.withLockedValue { $0.lateResponseHandler = handler }
    }

    /// Fails the requests whose deadline has passed; false once the
    /// channel is closed, when it needs watching no more (IPCDeadlines).
    func expireOverdue(now: Double) -> Bool {
        let (overdue, open): ([Completion], Bool) = state.withLockedValue { state in
            var due: [Completion] = []
            for (id, deadline) in state.deadlines where deadline <= now {
                state.deadlines[id] = nil
                if let completion = state.pending.removeValue(forKey: id) {
                    due.append(completion)
                    state.expired.insert(id)
                }
            }
            return (due, !state.isClosed)
        }
        overdue.forEach { $0(.failure(.timedOut)) }
        return open
    }

    private func write(_ bytes: [UInt8], descriptors: [Int32]) throws(IPCError) {
        let n = bytes.withUnsafeBytes { raw in
            descriptors.withUnsafeBufferPointer { fds in
                pst_send_with_fds(fd, raw.baseAddress, raw.count, fds.baseAddress, Int32(fds.count))
            }
        }
        if n < 0 { throw .sendFailed(errno: errno) }
        if n != bytes.count { throw .sendFailed(errno: EMSGSIZE) }
    }

    // MARK: receiving

    /// Receives one frame, blocking. Returns nil at end of file; throws a
    /// violation for anything that does not decode (its descriptors closed).
    public func receive() throws(IPCError) -> Frame? {
        var buffer = [UInt8](repeating: 0, count: FrameHeader.maxSize + 1)
        var fds = [Int32](repeating: -1, count: 8)
        var nfds: Int32 = 0
        var flags: Int32 = 0
        let n = buffer.withUnsafeMutableBytes { raw in
            fds.withUnsafeMutableBufferPointer { fdp in
                pst_recv_with_fds(fd, raw.baseAddress, raw.count, fdp.baseAddress, 8, &nfds, &flags)
            }
        }
        if n < 0 {
            if errno == ECONNRESET || errno == EBADF || errno == ENOTCONN { return nil }
            throw .sendFailed(errno: errno)
        }
        let received = Array(fds.prefix(Int(nfds)))
        if n == 0 && received.isEmpty {
            // On SOCK_SEQPACKET an empty datagram also reads as 0 bytes:
            // only a hung-up peer is end of file; an empty frame is a violation.
            let rdhup: Int16 = 0x2000  // POLLRDHUP, hidden behind _GNU_SOURCE
            var p = pollfd(fd: fd, events: Int16(POLLIN) | rdhup, revents: 0)
            if poll(&p, 1, 0) < 0 || p.revents & (Int16(POLLHUP) | rdhup) != 0 { return nil }
            throw .violation(.truncated)
        }
        if flags & Int32(MSG_TRUNC) != 0 || flags & Int32(MSG_CTRUNC) != 0 || n > FrameHeader.maxSize {
            received.forEach { _ = close($0) }
            throw .violation(.frameTooLarge(n))
        }
        do throws(IPCDecodeError) {
            let decoded = try FrameCodec.decode(Array(buffer.prefix(n)), descriptorCount: received.count)
            guard decoded.message.kind.travels(from: peer, to: local) else {
                throw IPCDecodeError.notOnThisEdge(decoded.message.kind.rawValue)
            }
            return Frame(
                message: decoded.message, requestID: decoded.requestID, isResponse: decoded.isResponse,
                descriptors: received)
        } catch {
            received.forEach { _ = close($0) }
            throw .violation(error)
        }
    }

    /// Starts the reader thread. Requests from the peer go to `onRequest`;
    /// responses complete their requests; `onClose` runs once, after which the
    /// descriptor is closed.
    public func start(
        onRequest: @escaping @Sendable (Frame) -> Void, onClose: @escaping @Sendable (IPCCloseReason) -> Void
    ) {
        OSThread.start { [self] in
            var reason = IPCCloseReason.endOfFile
            while true {
                let frame: Frame?
                do throws(IPCError) {
                    frame = try receive()
                } catch .violation(let v) {
                    reason = .violation("\(v)")
                    break
                } catch {
                    reason = closed ? .closedLocally : .endOfFile
                    break
                }
                guard let frame else {
                    if closed { reason = .closedLocally }
                    break
                }
                if frame.isResponse {
                    enum Answer {
                        case current(Completion)
                        case late((@Sendable (Frame) -> Void)?)
                        case unexpected
                    }
                    let answer: Answer = state.withLockedValue { state in
                        if let completion = state.pending.removeValue(forKey: frame.requestID) {
                            state.deadlines[frame.requestID] = nil
                            return .current(completion)
                        }
                        return state.expired.remove(frame.requestID) ? .late(state.lateResponseHandler) : .unexpected
                    }
                    switch answer {
                    case .current(let completion):
                        completion(.success(frame))
                    case .late(let handler):
                        if let handler { handler(frame) } else { frame.descriptors.forEach { _ = close($0) } }
                    case .unexpected:
                        frame.descriptors.forEach { _ = close($0) }
                        reason = .violation("\(IPCDecodeError.unexpectedResponse)")
                    }
                    if case .unexpected = answer { break }
                } else {
                    onRequest(frame)
                }
            }
            let failed: [Completion] = state.withLockedValue { state in
                state.isClosed = true
                let all = Array(state.pending.values)
                state.pending.removeAll()
                state.deadlines.removeAll()
                return all
            }
            failed.forEach { $0(.failure(.closed)) }
            onClose(reason)
            release()
        }
    }

    /// Stops the channel: the reader wakes up, fails what is pending and closes.
    public func shutdown() {
        state.withLockedValue { state in
            state.isClosed = true
            if !state.descriptorReleased { _ = Glibc.shutdown(fd, Int32(SHUT_RDWR)) }
        }
    }

    /// Closes the descriptor exactly once, for a channel whose owner reads
    /// it directly (the master) or when the reader thread ends.
    public func release() {
        state.withLockedValue { state in
            state.isClosed = true
            if !state.descriptorReleased {
                state.descriptorReleased = true
                _ = Glibc.close(fd)
            }
        }
    }

    public var closed: Bool { state.withLockedValue { $0.isClosed } }
}

extension Frame {
    /// The peer's answer as a result: `.rejected` becomes a failure.
    public var asReply: Result<Frame, IPCError> {
        if case .rejected(let status) = message { return .failure(.peerFailure(status)) }
        return .success(self)
    }
}
