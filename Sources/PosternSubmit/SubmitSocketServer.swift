import CShims
import Glibc
import LocalSubmission
import Logging
import NIOConcurrencyHelpers
import PosternCore
import PosternIPC

/// Serves submit.sock (0666 in RunDirectory, made by the master): one
/// thread per connection, at most `maxConnections`, each a short exchange
/// of request lines (`SubmitProtocol`) read with a timeout. Who is asking
/// is what SO_PEERCRED says, never what the command claims.
final class SubmitSocketServer: Sendable {
    static let maxConnections = 32
    /// Seconds a connection may sit between lines.
    static let idleTimeout = 60

    private let service: SubmitService
    private let active = NIOLockedValueBox(0)

    init(service: SubmitService) {
        self.service = service
    }

    func serve(fd: Int32) {
        OSThread.start { [self] in
            while true {
                let client = accept(fd, nil, nil)
                if client < 0 {
                    if errno == EINTR || errno == ECONNABORTED { continue }
                    service.logger.error("submit socket: accept: \(String(cString: strerror(errno)))")
                    return
                }
                _ = fcntl(client, F_SETFD, FD_CLOEXEC)
                let admitted = active.withLockedValue { count -> Bool in
                    guard count < Self.maxConnections else { return false }
                    count += 1
                    return true
                }
                guard admitted else {
                    _ = SpoolWriter.writeAll(client, SubmitReplies.tooManyConnections.rendered)
                    close(client)
                    continue
                }
                OSThread.start { [self] in
                    converse(client)
                    close(client)
                    active.withLockedValue { $0 -= 1 }
                }
            }
        }
    }

    private func converse(_ fd: Int32) {
        var timeout = timeval(tv_sec: Self.idleTimeout, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var pid: pid_t = 0
        var uid: uid_t = 0
        var gid: gid_t = 0
        guard pst_peer_credentials(fd, &pid, &uid, &gid) == 0 else { return }
        var reader = LineReader(fd: fd, limit: SubmitRequest.maxLineLength)
        while let line = reader.next() {
            let reply: SMTPReply
            var done = false
            do {
                switch try SubmitRequest.parse(line: line) {
                case .submit(let name): reply = service.pickUp(name.description, caller: uid)
                case .check(let address): reply = service.check(address)
                case .verify(let address): reply = service.verify(address, caller: uid)
                case .quit:
                    reply = SMTPReply(code: 221, enhanced: "2.0.0", text: "Bye")
                    done = true
                }
            } catch {
                reply = SMTPReply(code: 500, enhanced: "5.5.2", text: "Bad request: \(error)")
                done = true
            }
            guard SpoolWriter.writeAll(fd, reply.rendered) == 0, !done else { return }
        }
    }
}

/// Lines from a socket, each at most `limit` bytes before its CRLF or LF;
/// nil at the end, on a timeout, or for a longer line.
struct LineReader {
    let fd: Int32
    let limit: Int
    private var buffer: [UInt8] = []

    init(fd: Int32, limit: Int) {
        self.fd = fd
        self.limit = limit
    }

    mutating func next() -> [UInt8]? {
        while true {
            if let lf = buffer.firstIndex(of: 0x0A) {
                var line = Array(buffer[..<lf])
                buffer.removeSubrange(...lf)
                if line.last == 0x0D { line.removeLast() }
                return line
            }
            guard buffer.count <= limit else { return nil }
            var chunk = [UInt8](repeating: 0, count: 1024)
            let n = read(fd, &chunk, chunk.count)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return nil }
            buffer += chunk.prefix(n)
        }
    }
}
