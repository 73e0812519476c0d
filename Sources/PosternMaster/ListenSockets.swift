import Glibc
import PosternCore

public enum ListenError: Error, CustomStringConvertible {
    case bind(String, errno: Int32)
    case badAddress(String)

    public var description: String {
        switch self {
        case .bind(let address, let e): return "cannot listen on \(address): \(String(cString: strerror(e)))"
        case .badAddress(let address): return "bad listen address \(address)"
        }
    }
}

/// The master binds every listening socket as root (ports below 1024) and
/// hands them to the listener, which never binds anything itself.
enum ListenSockets {
    static func bind(_ address: ListenAddress) throws(ListenError) -> Int32 {
        let family = address.isIPv6 ? AF_INET6 : AF_INET
        let fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .bind(address.description, errno: errno) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var rc: Int32
        if address.isIPv6 {
            var sa = sockaddr_in6()
            sa.sin6_family = sa_family_t(AF_INET6)
            sa.sin6_port = address.port.bigEndian
            guard inet_pton(AF_INET6, address.host, &sa.sin6_addr) == 1 else {
                close(fd)
                throw .badAddress(address.description)
            }
            setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &one, socklen_t(MemoryLayout<Int32>.size))
            rc = withUnsafePointer(to: &sa) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size))
                }
            }
        } else {
            var sa = sockaddr_in()
            sa.sin_family = sa_family_t(AF_INET)
            sa.sin_port = address.port.bigEndian
            guard inet_pton(AF_INET, address.host, &sa.sin_addr) == 1 else {
                close(fd)
                throw .badAddress(address.description)
            }
            rc = withUnsafePointer(to: &sa) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        }
        guard rc == 0, listen(fd, 1024) == 0 else {
            let e = errno
            close(fd)
            throw .bind(address.description, errno: e)
        }
        return fd
    }
}
