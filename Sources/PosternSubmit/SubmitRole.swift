import Glibc
import Logging
import PosternCore
import PosternIPC
import PosternPrivilege

/// The submit process: user `postern-submit`, chrooted into the drop
/// directory, no capabilities, no network input. It serves the sendmail
/// command's socket and picks up what the command left in the drop
/// directory, and hands each message to the queue on its own edge — so
/// the right of local mail to go anywhere comes from that edge, never from
/// anything the network-facing listener could claim.
public enum SubmitRole {
    public static let manifest = RoleManifest(
        role: .submit, identity: .systemUser("postern-submit"), root: .dropDirectory,
        peers: [.queue, .lookup], handedOver: [.submitSocket, .userDatabase],
        job: "local submission: the sendmail command's socket and the drop directory")

    public static func run(_ start: ChildStart) -> Never {
        start.dropPrivileges()
        let service = SubmitService(config: start.config, logger: start.logger)
        let server = SubmitSocketServer(service: service)
        let scanner = DropScanner(service: service)
        start.serveMaster(
            MasterHandlers(
                attach: { role, fd in
                    let channel = start.openPeer(
                        role, fd: fd,
                        onRequest: { _, frame in frame.descriptors.forEach { _ = close($0) } },
                        onClose: { channel in service.peers.remove(channel) })
                    service.peers.replace(role, with: channel)
                },
                reload: { service.update(config: $0) },
                shutdown: {
                    // What is not picked up yet stays in the drop directory
                    // for the next start; a pickup under way finishes first.
                    service.waitForPickups(timeout: Double(start.config.shutdownTimeout))
                    exit(0)
                },
                other: { frame in
                    switch (frame.message, frame.descriptors.first) {
                    case (.submitSocket, let fd?): server.serve(fd: fd)
                    case (.userDatabase, let fd?):
                        service.loadUsers(from: fd)
                        close(fd)
                    default: frame.descriptors.forEach { _ = close($0) }
                    }
                },
                health: { answer in scanner.health(answer) }))
        scanner.start()
        try? start.master.send(.ready(.submit))
        while true { pause() }
    }
}
