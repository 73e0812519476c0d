import Logging
import NIOCore
import PosternCore
import PosternIPC

/// How a session asks another process: every question has a deadline
/// (`Timeout.ipc`), after which the client gets a temporary failure and the
/// silent process is named in the log — a stopped or hung lookup or queue
/// must not hold clients until their own timeouts. A peer that is being
/// restarted (its channel gone for the moment) is waited for, briefly, so
/// that a crash of the queue or the lookup costs clients a pause, not a 451.
extension SMTPSessionHandler {
    /// The longest a session waits for a restarting peer to be back.
    static let peerReturnWait = 10.0
    static let peerPollInterval: TimeAmount = .milliseconds(50)

    /// Sends `message` to `role`; `done` runs on the event loop with the
    /// answer, `.closed` when there is no peer, `.timedOut` after the deadline.
    func ask(
        _ role: Role, _ message: IPCMessage, _ done: @escaping @Sendable (Result<Frame, IPCError>) -> Void
    ) {
        let timeout = Double(server.config.ipcTimeout)
        withPeer(role, waitingUpTo: min(Self.peerReturnWait, timeout)) { [self] channel in
            guard let channel else {
                logger.error(
                    "no \(role.rawValue) to ask about \(message.kind) (restarting?), client=\(client.address)")
                return done(.failure(.closed))
            }
            channel.request(message, timeout: timeout) { [self] result in
                eventLoop.execute { [self] in
                    if case .failure(.timedOut) = result {
                        logger.error(
                            "\(role.rawValue) did not answer \(message.kind) within \(Int(timeout))s (Timeout.ipc), client=\(client.address)"
                        )
                    }
                    done(result)
                }
            }
        }
    }

    /// The channel to `role`; when none is attached, looked for again every
    /// 50 ms for up to `seconds`. On the event loop.
    private func withPeer(_ role: Role, waitingUpTo seconds: Double, _ body: @escaping @Sendable (IPCChannel?) -> Void)
    {
        if let channel = services.channel(role) { return body(channel) }
        guard seconds > 0 else { return body(nil) }
        eventLoop.scheduleTask(in: Self.peerPollInterval) { [self] in
            withPeer(role, waitingUpTo: seconds - 0.05, body)
        }
    }
}
