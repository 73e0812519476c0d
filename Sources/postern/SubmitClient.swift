import Glibc
import LocalSubmission
import PosternCore

/// The command's side of submit.sock: one request line, one reply
/// (`SubmitRequest`, `SubmitReplyDecoder`). Nil from `connect` when the
/// daemon is not running — the drop file then waits for it.
struct SubmitClient {
    let fd: Int32
    private var pending: [UInt8] = []

    static func connect(runDirectory: String) -> SubmitClient? {
        let fd = QueueClient.connectUnix(runDirectory + "/submit.sock")
        guard fd >= 0 else { return nil }
        var timeout = timeval(tv_sec: 120, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        return SubmitClient(fd: fd)
    }

    private init(fd: Int32) { self.fd = fd }

    func close() { _ = Glibc.close(fd) }

    /// Nil when the daemon went away or answered nonsense.
    mutating func ask(_ request: SubmitRequest) -> SMTPReply? {
        guard let line = request.encoded,
            line.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) == line.count
        else { return nil }
        var decoder = SubmitReplyDecoder()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            if !pending.isEmpty {
                guard let (consumed, reply) = try? decoder.consume(pending[...]) else { return nil }
                pending.removeFirst(consumed)
                if let reply { return reply }
            }
            let n = read(fd, &buffer, buffer.count)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return nil }
            pending += buffer.prefix(n)
        }
    }
}
