import CShims
import Glibc
import NIOConcurrencyHelpers
import PosternCore
import PosternIPC

/// The administrator's view of the queue: `postern queue …` and `mailq`
/// connect to the control sockets the master made (ControlSockets) and
/// send one command line; the queue answers with text and closes. Which
/// socket it came on and the peer's uid and pid (SO_PEERCRED) go to the
/// machine with the command, which decides (`QueueMachine.execute`).
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
        let answer = ask(command, access: access, who: who)
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

    /// Hands the command to the machine on `state` and waits for its answer.
    private func ask(_ command: QueueCommand, access: ControlAccess, who: String) -> String {
        let reply = ControlReply()
        state.async { [self] in feed(.control(command, access: access, who: who, reply: Handle(reply))) }
        return reply.wait()
    }
}

/// Where a control command's answer is delivered, from `state`, to the
/// control thread that waits for it (NIO's condition lock: the waiter
/// sleeps until the value says the answer is there).
final class ControlReply: Sendable {
    private let text = NIOLockedValueBox("")
    private let delivered = ConditionLock(value: false)

    func deliver(_ answer: String) {
        text.withLockedValue { $0 = answer }
        delivered.lock()
        delivered.unlock(withValue: true)
    }

    func wait() -> String {
        delivered.lock(whenValue: true)
        delivered.unlock()
        return text.withLockedValue { $0 }
    }
}
