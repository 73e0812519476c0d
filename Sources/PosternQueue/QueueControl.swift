import CShims
import Glibc
import PosternCore
import PosternIPC

/// The administrator's view of the queue: `postern queue …` and `mailq`
/// connect to the control sockets the master made (ControlSockets) and
/// send one command line; the queue answers with text and closes.
///
/// Who may do what is settled by which socket the client could open (the
/// file system checked it): the admin socket allows everything; the public
/// one the listing unless `restrictmailq`, a queue run unless
/// `restrictqrun`. The peer's uid and pid (SO_PEERCRED) go into the log.
extension QueueService {
    typealias ControlAccess = ControlSocketAccess

    /// Serves one control socket on a thread of its own: each connection is
    /// one short command, read with a timeout, answered from `state`.
    func serveControl(fd: Int32, access: ControlAccess) {
        OSThread.start { [self] in
            while true {
                let client = accept(fd, nil, nil)
                if client < 0 {
                    if errno == EINTR || errno == ECONNABORTED { continue }
                    logger.error("control socket: accept: \(String(cString: strerror(errno)))")
                    return
                }
                _ = fcntl(client, F_SETFD, FD_CLOEXEC)
                handleControlConnection(client, access: access)
                close(client)
            }
        }
    }

    private func handleControlConnection(_ fd: Int32, access: ControlAccess) {
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var pid: pid_t = 0
        var uid: uid_t = 0
        var gid: gid_t = 0
        let who = pst_peer_credentials(fd, &pid, &uid, &gid) == 0 ? "uid=\(uid), pid=\(pid)" : "unknown peer"
        guard let line = Self.readCommandLine(fd) else {
            _ = Spool.writeAll(fd, Array("error: expected one command line\n".utf8))
            return
        }
        let command = QueueCommand.parse(line)
        let answer = runOnState { [self] in execute(command, access: access, who: who) }
        _ = Spool.writeAll(fd, Array(answer.utf8))
    }

    /// At most 256 bytes up to a newline; nil for anything else.
    private static func readCommandLine(_ fd: Int32) -> String? {
        var bytes: [UInt8] = []
        var byte: UInt8 = 0
        while bytes.count < 256 {
            let n = read(fd, &byte, 1)
            guard n == 1 else { return nil }
            if byte == 0x0A { return String(validating: bytes, as: UTF8.self) }
            bytes.append(byte)
        }
        return nil
    }

    /// Runs `body` on the queue's state thread and waits for its answer.
    private func runOnState(_ body: @escaping () -> String) -> String {
        let done = UnsafeMutablePointer<sem_t>.allocate(capacity: 1)
        sem_init(done, 0, 0)
        defer {
            sem_destroy(done)
            done.deallocate()
        }
        let result = ResultBox()
        state.async {
            result.value = body()
            sem_post(done)
        }
        while sem_wait(done) != 0 && errno == EINTR {}
        return result.value
    }

    /// Runs on `state`.
    private func execute(_ command: QueueCommand, access: ControlAccess, who: String) -> String {
        let privacy = config.privacyOptions
        switch (command, access) {
        case (.invalid(let reason), _):
            return "error: \(reason)\n"
        case (.list, .everyone) where privacy.contains(.restrictmailq),
            (.count, .everyone) where privacy.contains(.restrictmailq):
            return "error: permission denied (restrictmailq)\n"
        case (.flush, .everyone) where privacy.contains(.restrictqrun):
            return "error: permission denied (restrictqrun)\n"
        case (.show, .everyone), (.hold, .everyone), (.release, .everyone), (.delete, .everyone):
            return "error: permission denied (queue administrators only)\n"
        case (.list, _):
            return QueueListing.mailq(
                messages.values.sorted { $0.arrival < $1.arrival }, inFlight: Set(inFlight.keys))
        case (.count, _):
            let held = messages.values.filter(\.held).count
            let pending = messages.values.reduce(0) { $0 + $1.recipients.filter { $0.state == .pending }.count }
            return "\(messages.count) messages, \(pending) recipients pending, \(held) held\n"
        case (.show(let id), _):
            guard let envelope = messages[id] else { return "error: \(id) is not in the queue\n" }
            return QueueListing.details(envelope)
        case (.flush(let id), _):
            logger.info("control: flush \(id.map(\.value) ?? "all") by \(who)")
            var count = 0
            for (key, var envelope) in messages where (id == nil || key == id) && !envelope.held {
                envelope.nextAttempt = 0
                messages[key] = envelope
                count += 1
            }
            if let id, messages[id] == nil { return "error: \(id) is not in the queue\n" }
            schedule()
            return "flushed \(count) message\(count == 1 ? "" : "s")\n"
        case (.hold(let id), _), (.release(let id), _):
            guard var envelope = messages[id] else { return "error: \(id) is not in the queue\n" }
            let hold: Bool
            if case .hold = command { hold = true } else { hold = false }
            envelope.held = hold
            if !hold { envelope.nextAttempt = 0 }
            messages[id] = envelope
            persist(envelope, durable: true)
            logger.info("control: \(hold ? "hold" : "release") by \(who)", metadata: ["qid": "\(id)"])
            if !hold { schedule() }
            return "\(id) \(hold ? "held" : "released")\n"
        case (.delete(let id), _):
            guard messages[id] != nil else { return "error: \(id) is not in the queue\n" }
            guard inFlight[id] == nil, !notifying.contains(id) else {
                return "error: \(id) is being delivered; try again\n"
            }
            messages[id] = nil
            maybeDelivered[id] = nil
            spool.remove(id)
            logger.info("control: deleted by \(who), no notice sent", metadata: ["qid": "\(id)"])
            return "\(id) deleted\n"
        }
    }
}

private final class ResultBox: @unchecked Sendable {
    var value = ""
}
