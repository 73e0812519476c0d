import Glibc
import PosternCore

/// Why a connection's byte stream stopped.
enum TransportError: Error, Equatable, CustomStringConvertible {
    case timedOut
    case closed
    case failed(String)

    var description: String {
        switch self {
        case .timedOut: return "timed out"
        case .closed: return "connection closed"
        case .failed(let reason): return reason
        }
    }
}

/// A connection's bytes, in the clear or through TLS: what the session
/// loop reads and writes, with deadlines so a stalled server costs a
/// timeout, never a thread.
protocol RelayTransport: AnyObject {
    /// Up to `max` bytes; waits until `deadline` (monotonic seconds; nil:
    /// for ever). Throws `.timedOut` at the deadline, `.closed` at EOF.
    func read(max: Int, deadline: Double?) throws(TransportError) -> [UInt8]
    func write(_ bytes: [UInt8], deadline: Double) throws(TransportError)
    func close()
}

/// Waits for `events` on `fd` until `deadline`.
enum SocketWait {
    static func wait(_ fd: Int32, events: Int16, deadline: Double?) throws(TransportError) {
        while true {
            var timeout: Int32 = -1
            if let deadline {
                let left = deadline - MonotonicClock.now()
                if left <= 0 { throw .timedOut }
                timeout = Int32(min(left * 1000, 60_000).rounded(.up))
            }
            var p = pollfd(fd: fd, events: events, revents: 0)
            let rc = poll(&p, 1, timeout)
            if rc > 0 { return }
            if rc < 0 && errno != EINTR { throw .failed("poll: \(String(cString: strerror(errno)))") }
        }
    }
}

/// The plain TCP stream of a connection; the descriptor is non-blocking.
final class PlainTransport: RelayTransport {
    let fd: Int32
    private var closed = false

    init(fd: Int32) { self.fd = fd }

    func read(max: Int, deadline: Double?) throws(TransportError) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: max)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n > 0 { return Array(buffer[0..<n]) }
            if n == 0 { throw .closed }
            switch errno {
            case EINTR: continue
            case EAGAIN: try SocketWait.wait(fd, events: Int16(POLLIN), deadline: deadline)
            default: throw .failed("read: \(String(cString: strerror(errno)))")
            }
        }
    }

    func write(_ bytes: [UInt8], deadline: Double) throws(TransportError) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes {
                send(fd, $0.baseAddress.map { $0 + offset }, $0.count - offset, Int32(MSG_NOSIGNAL))
            }
            if n > 0 {
                offset += n
                continue
            }
            switch errno {
            case EINTR: continue
            case EAGAIN: try SocketWait.wait(fd, events: Int16(POLLOUT), deadline: deadline)
            case EPIPE, ECONNRESET: throw .closed
            default: throw .failed("write: \(String(cString: strerror(errno)))")
            }
        }
    }

    func close() {
        guard !closed else { return }
        closed = true
        _ = Glibc.close(fd)
    }
}

/// Opens TCP connections without blocking past a deadline.
enum TCPConnector {
    /// A connected non-blocking socket, or why not ("Connection refused").
    static func connect(address: String, port: UInt16, timeout: Double) -> Result<Int32, TransportError> {
        var storage = sockaddr_storage()
        var length: socklen_t = 0
        let family: Int32
        if address.contains(":") {
            var sin6 = sockaddr_in6()
            sin6.sin6_family = sa_family_t(AF_INET6)
            sin6.sin6_port = port.bigEndian
            guard inet_pton(AF_INET6, address, &sin6.sin6_addr) == 1 else { return .failure(.failed("bad address")) }
            withUnsafeBytes(of: sin6) { raw in withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: raw) } }
            length = socklen_t(MemoryLayout<sockaddr_in6>.size)
            family = AF_INET6
        } else {
            var sin = sockaddr_in()
            sin.sin_family = sa_family_t(AF_INET)
            sin.sin_port = port.bigEndian
            guard inet_pton(AF_INET, address, &sin.sin_addr) == 1 else { return .failure(.failed("bad address")) }
            withUnsafeBytes(of: sin) { raw in withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: raw) } }
            length = socklen_t(MemoryLayout<sockaddr_in>.size)
            family = AF_INET
        }
        let fd = socket(
            family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return .failure(.failed("socket: \(String(cString: strerror(errno)))")) }
        let rc = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, length) }
        }
        if rc != 0 && errno != EINPROGRESS {
            let reason = String(cString: strerror(errno))
            _ = Glibc.close(fd)
            return .failure(.failed(reason))
        }
        if rc != 0 {
            do {
                try SocketWait.wait(fd, events: Int16(POLLOUT), deadline: MonotonicClock.now() + timeout)
            } catch {
                _ = Glibc.close(fd)
                return .failure(error == .timedOut ? .failed("connection timed out") : error)
            }
            var soError: Int32 = 0
            var size = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &soError, &size)
            if soError != 0 {
                _ = Glibc.close(fd)
                return .failure(.failed(String(cString: strerror(soError))))
            }
        }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        return .success(fd)
    }
}
