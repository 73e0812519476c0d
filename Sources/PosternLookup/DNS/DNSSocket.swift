import Glibc

/// A server address already parsed, so queries never re-parse text.
struct DNSEndpoint: Sendable {
    var address: [UInt8]
    var port: UInt16

    var family: Int32 { address.count == 4 ? AF_INET : AF_INET6 }
}

struct DNSDeadline {
    var nanoseconds: UInt64

    init(after seconds: Double) {
        nanoseconds = Self.monotonic() &+ UInt64(seconds * 1_000_000_000)
    }

    /// Milliseconds left for poll(2), rounded up so a wait never ends early;
    /// nil once the deadline has passed.
    var remainingMilliseconds: Int32? {
        let now = Self.monotonic()
        guard now < nanoseconds else { return nil }
        return Int32(min((nanoseconds - now + 999_999) / 1_000_000, UInt64(Int32.max)))
    }

    private static func monotonic() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}

/// A non-blocking socket whose every wait is bounded by a deadline.
struct DNSSocket {
    let fd: Int32

    init(endpoint: DNSEndpoint, type: Int32) throws(DNSError) {
        let fd = Glibc.socket(
            endpoint.family, type | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { throw .io(errno: errno) }
        self.fd = fd
    }

    func close() { _ = Glibc.close(fd) }

    func connect(to endpoint: DNSEndpoint, deadline: DNSDeadline) throws(DNSError) {
        let result: Int32
        if endpoint.address.count == 4 {
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = endpoint.port.bigEndian
            withUnsafeMutableBytes(of: &address.sin_addr) { $0.copyBytes(from: endpoint.address) }
            result = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        } else {
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            address.sin6_port = endpoint.port.bigEndian
            withUnsafeMutableBytes(of: &address.sin6_addr) { $0.copyBytes(from: endpoint.address) }
            result = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size))
                }
            }
        }
        if result == 0 { return }
        guard errno == EINPROGRESS else { throw .io(errno: errno) }
        try wait(for: Int16(POLLOUT), deadline: deadline)
        var error: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) == 0 else { throw .io(errno: errno) }
        guard error == 0 else { throw .io(errno: error) }
    }

    func sendAll(_ bytes: [UInt8], deadline: DNSDeadline) throws(DNSError) {
        var sent = 0
        while sent < bytes.count {
            let count = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if count >= 0 {
                sent += count
            } else if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR {
                try wait(for: Int16(POLLOUT), deadline: deadline)
            } else {
                throw .io(errno: errno)
            }
        }
    }

    /// One datagram, or whatever a stream has ready; 0 means the peer closed.
    func receive(into buffer: inout [UInt8], limit: Int = .max, deadline: DNSDeadline) throws(DNSError) -> Int {
        while true {
            let count = buffer.withUnsafeMutableBytes { Glibc.recv(fd, $0.baseAddress, min($0.count, limit), 0) }
            if count >= 0 { return count }
            guard errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR else { throw .io(errno: errno) }
            try wait(for: Int16(POLLIN), deadline: deadline)
        }
    }

    func receiveExactly(_ count: Int, deadline: DNSDeadline) throws(DNSError) -> [UInt8] {
        var result: [UInt8] = []
        result.reserveCapacity(count)
        var buffer = [UInt8](repeating: 0, count: min(max(count, 1), 65536))
        while result.count < count {
            let got = try receive(into: &buffer, limit: count - result.count, deadline: deadline)
            guard got > 0 else { throw .malformed("connection closed inside an answer") }
            result.append(contentsOf: buffer[0..<got])
        }
        return result
    }

    private func wait(for events: Int16, deadline: DNSDeadline) throws(DNSError) {
        while true {
            guard let milliseconds = deadline.remainingMilliseconds else { throw .timeout }
            var entry = pollfd(fd: fd, events: events, revents: 0)
            let ready = poll(&entry, 1, milliseconds)
            if ready > 0 { return }
            if ready == 0 { continue }
            guard errno == EINTR else { throw .io(errno: errno) }
        }
    }
}
