import Glibc
import Logging
import PosternCore
import PosternIPC
import PosternPrivilege

/// The lookup process: user `postern-lookup`, chrooted read-only into the
/// configuration directory, no capabilities. It answers every policy
/// question — the client at connect (access map, DNS block lists), the
/// sender at MAIL, each recipient at RCPT — and is the only process that
/// will see secrets. It reads /etc/passwd through a descriptor the master
/// hands it and /etc/resolv.conf before its chroot, since both are outside
/// its root; the maps live inside it. Cyrus SASL (SMTP AUTH) is
/// initialized before the chroot, as it loads its plugins then; the
/// sasldb and the saslauthd socket live inside the root.
public enum LookupRole {
    public static let manifest = RoleManifest(
        role: .lookup, identity: .systemUser("postern-lookup"), root: .configDirectory,
        peers: [.listener, .queue, .relay, .submit], handedOver: [.userDatabase],
        job: "every policy decision (maps, DNS, SMTP AUTH through Cyrus SASL), routes for the relay")

    public static func run(_ start: ChildStart) -> Never {
        let resolvConf = MapFiles.read("/etc/resolv.conf", logger: start.logger) ?? ""
        // Cyrus loads its plugins from /usr/lib/.../sasl2: before the chroot.
        let saslSettings = SASLSettings(config: start.config, root: start.config.configDirectory)
        var saslStarted = true
        do {
            try SASLLibrary.shared.start(settings: saslSettings, logger: start.logger)
        } catch {
            start.logger.error("SMTP AUTH unavailable: \(error)")
            saslStarted = false
        }
        start.dropPrivileges()
        // Threads only from here on: capabilities and no_new_privs are per thread.
        let authenticator =
            saslStarted
            ? try? SASLAuthenticator(
                settings: saslSettings, logger: start.logger,
                authCanBeOffered: start.config.security.authCanBeOffered)
            : nil
        let state = LookupState(
            config: start.config, resolvConf: resolvConf, logger: start.logger, authenticator: authenticator)
        let peers = PeerChannels()
        start.serveMaster(
            MasterHandlers(
                attach: { role, fd in
                    let channel = start.openPeer(role, fd: fd) { channel, frame in
                        state.handle(frame, from: channel)
                    }
                    peers.replace(role, with: channel)
                },
                reload: { state.update(config: $0) },
                other: { frame in
                    if case .userDatabase = frame.message, let fd = frame.descriptors.first {
                        state.loadUsers(from: fd)
                        close(fd)
                    } else {
                        frame.descriptors.forEach { _ = close($0) }
                    }
                },
                health: { state.health($0) }))
        try? start.master.send(.ready(.lookup))
        while true { pause() }
    }
}
