import Glibc
import PosternCore
import PosternIPC
import PosternPrivilege

/// The relay process: user `postern-relay`, chrooted into the empty
/// directory, no capabilities. It delivers to remote SMTP servers: routes
/// come from the lookup (it has no resolver and no maps), messages and
/// results go to and from the queue, and what it needs from the file system
/// (the CA bundle for outbound TLS) is loaded before the chroot.
public enum RelayRole {
    public static let manifest = RoleManifest(
        role: .relay, identity: .systemUser("postern-relay"), root: .emptyDirectory,
        peers: [.queue, .lookup], job: "remote delivery: the SMTP client and outbound TLS")

    public static func run(_ start: ChildStart) -> Never {
        let startTLS = OutboundTLS.prepare(config: start.config, logger: start.logger)
        start.dropPrivileges()
        // Threads only after the drop: capabilities and no_new_privs are per thread.
        let service = RelayService(start: start, startTLS: startTLS)
        start.serveMaster(
            MasterHandlers(
                attach: { role, fd in service.attach(role, fd: fd) },
                reload: { service.update(config: $0) },
                health: { service.health($0) }))
        try? start.master.send(.ready(.relay))
        while true { pause() }
    }
}
