import Glibc
import Logging
import PosternCore
import PosternIPC
import PosternPrivilege

/// The queue process: user `postern-queue`, chrooted into the spool, no
/// capabilities. It alone opens spool files: it creates each new message
/// file and hands its descriptor to the listener, commits (fsync, rename,
/// directory fsync) before the listener may answer 250, and hands delivery
/// processes read-only descriptors, never paths.
public enum QueueRole {
    public static let manifest = RoleManifest(
        role: .queue, identity: .systemUser("postern-queue"), root: .queueDirectory,
        peers: [.listener, .local, .relay, .lookup, .submit], handedOver: [.controlSockets],
        job: "the spool: commits, scheduling, retries, notices, queue control")

    public static func run(_ start: ChildStart) -> Never {
        start.dropPrivileges()
        let spool: Spool
        do {
            spool = try Spool(root: "/")
        } catch {
            start.logger.critical("cannot open the spool: \(error)")
            exit(1)
        }
        let queue = QueueService(spool: spool, logger: start.logger, start: start)
        queue.recover()
        start.serveMaster(
            MasterHandlers(
                attach: { role, fd in queue.attach(role, fd: fd) },
                reload: { config in queue.reload(config) },
                shutdown: { queue.drainAndExit(timeout: start.config.shutdownTimeout) },
                other: { frame in
                    // The control sockets the master made (ControlSockets).
                    guard case .controlSocket(let access) = frame.message, let fd = frame.descriptors.first else {
                        frame.descriptors.forEach { _ = close($0) }
                        return
                    }
                    queue.serveControl(fd: fd, access: access)
                },
                // The state queue owns every message: it must be moving.
                health: { answer in queue.state.async(answer) }))
        queue.startTimer()
        try? start.master.send(.ready(.queue))
        while true { pause() }
    }
}
