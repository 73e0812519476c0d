import Glibc

/// The connected socket under a TLS session, used without touching its
/// flags: each recv and send is non-blocking by itself (MSG_DONTWAIT), and
/// each wait is a poll() that ends at the deadline. The I/O layer's socket
/// may stay blocking, and a stalled server cannot hold the thread.
struct DeadlineSocket {
    enum Failure: Error, Equatable {
        case timedOut
        /// Reset, broken pipe, or another socket error, as the system tells it.
        case failed(reason: String)
    }

    /// Not owned: the I/O layer closes it.
    let fd: Int32

    /// Sends all of `bytes`. MSG_NOSIGNAL: a peer that is gone is an
    /// error here, not a SIGPIPE for the whole process.
    func send(_ bytes: [UInt8], deadline: MonotonicDeadline) throws(Failure) {
        var sent = 0
        while sent < bytes.count {
            let count = bytes[sent...].withUnsafeBytes {
                Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT))
            }
            if count >= 0 {
                sent += count
            } else if errno == EAGAIN || errno == EWOULDBLOCK {
                try wait(for: Int16(POLLOUT), deadline: deadline)
            } else if errno != EINTR {
                throw .failed(reason: Self.systemError(errno))
            }
        }
    }

    /// Whatever the socket has, up to `maximum` bytes, once there is any;
    /// empty when the server closed its side.
    func receive(maximum: Int, deadline: MonotonicDeadline) throws(Failure) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: max(1, maximum))
        while true {
            let count = buffer.withUnsafeMutableBytes {
                Glibc.recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT))
            }
            if count >= 0 { return Array(buffer[0..<count]) }
            if errno == EAGAIN || errno == EWOULDBLOCK {
                try wait(for: Int16(POLLIN), deadline: deadline)
            } else if errno != EINTR {
                throw .failed(reason: Self.systemError(errno))
            }
        }
    }

    /// Returns once `events` (or an error or hang-up, which the next call
    /// then reports) is signalled.
    private func wait(for events: Int16, deadline: MonotonicDeadline) throws(Failure) {
        while true {
            guard let milliseconds = deadline.remainingMilliseconds else { throw .timedOut }
            var entry = pollfd(fd: fd, events: events, revents: 0)
            let ready = poll(&entry, 1, milliseconds)
            if ready > 0 {
                guard entry.revents & Int16(POLLNVAL) == 0 else { throw .failed(reason: "not an open descriptor") }
                return
            }
            if ready < 0 && errno != EINTR { throw .failed(reason: Self.systemError(errno)) }
        }
    }

    private static func systemError(_ code: Int32) -> String { String(cString: strerror(code)) }
}
