import CShims
import Glibc
import Logging
import PosternCore
import PosternIPC

/// The first moments of every child the master spawns: descriptor 3 is its
/// channel to the master, which sends the configuration text first. Nothing
/// here reads from the network; a failure is logged and the child exits, and
/// the master restarts it with backoff.
public struct ChildStart: Sendable {
    /// Descriptor numbers fixed by the master's spawn (pst_spawn's table).
    public static let masterChannelFD: Int32 = 3

    public let manifest: RoleManifest
    public var role: Role { manifest.role }
    public let master: IPCChannel
    public let configText: String
    public let config: PosternConfig
    public let logger: Logger
    /// How this child logs, passed on to the processes it spawns.
    public let logMode: String

    /// `logMode` is the argument the master passes: "stderr" or "syslog:FACILITY".
    public static func begin(manifest: RoleManifest, logMode: String) -> ChildStart {
        let role = manifest.role
        bootstrapLog(role: role, logMode: logMode)
        let logger = PosternLog.logger
        // No stdin: nothing a child does reads a terminal.
        _ = close(0)
        let master = IPCChannel(fd: masterChannelFD, peer: .master, local: role)
        let text: String
        do {
            guard let frame = try master.receive(), case .configure(let t) = frame.message else {
                logger.error("no configuration from the master")
                exit(1)
            }
            text = t
        } catch {
            logger.error("bad first frame from the master: \(error)")
            exit(1)
        }
        switch ConfigLoader.parse(text: text, file: "(from master)", checkFileSystem: false) {
        case .success(let config):
            return ChildStart(
                manifest: manifest, master: master, configText: text, config: config, logger: logger,
                logMode: logMode)
        case .failure(let errors):
            logger.error("configuration refused: \(errors)")
            exit(1)
        }
    }

    public static func bootstrapLog(role: Role, logMode: String) {
        if logMode.hasPrefix("syslog:"), let facility = Int32(logMode.dropFirst("syslog:".count)) {
            PosternLog.bootstrap(role: role, sink: .syslog(facility: facility))
        } else {
            PosternLog.bootstrap(role: role, sink: .stream(fd: 2))
        }
    }

    /// Drops privileges or exits: a child that cannot drop must never serve.
    public func drop(_ drop: PrivilegeDrop) {
        do {
            try drop.apply()
        } catch {
            logger.critical("privilege drop failed: \(error)")
            exit(1)
        }
    }

    /// The drop the manifest declares: its user (resolved now, before the
    /// chroot hides the user database), its root, its capabilities.
    public func dropPrivileges() {
        var account: SystemAccount?
        switch manifest.identity {
        case .systemUser(let name):
            do {
                account = try SystemAccount.lookup(name)
            } catch {
                logger.critical("\(error)")
                exit(1)
            }
        case .root:
            account = nil
        case .recipient:
            logger.critical("a \(role.rawValue) drops to its recipient itself")
            exit(1)
        }
        drop(
            PrivilegeDrop(
                account: account, chrootDirectory: manifest.root.path(in: config),
                keep: manifest.capabilities.map(\.value)))
    }

    /// Tells the master a peer broke the protocol; the master restarts it.
    public func reportViolation(by peer: Role, reason: String) {
        logger.error("protocol violation by \(peer.rawValue): \(reason); dropping that connection")
        try? master.send(.peerViolation(peer, reason: String(reason.prefix(200))))
    }
}

/// What a child does with the frames its master sends after the start.
public struct MasterHandlers: Sendable {
    public var attach: @Sendable (Role, Int32) -> Void
    public var reload: @Sendable (PosternConfig) -> Void
    public var shutdown: @Sendable () -> Void
    public var other: @Sendable (Frame) -> Void
    /// Runs its argument (which answers the master's health check) where
    /// the role does its work, so that the answer proves that place is
    /// alive, not only the thread that reads the master channel. By default
    /// it answers at once: a stopped or wedged process still cannot.
    public var health: @Sendable (@escaping @Sendable () -> Void) -> Void

    public init(
        attach: @escaping @Sendable (Role, Int32) -> Void,
        reload: @escaping @Sendable (PosternConfig) -> Void = { _ in },
        shutdown: @escaping @Sendable () -> Void = { exit(0) }, other: @escaping @Sendable (Frame) -> Void = { _ in },
        health: @escaping @Sendable (@escaping @Sendable () -> Void) -> Void = { $0() }
    ) {
        self.attach = attach
        self.reload = reload
        self.shutdown = shutdown
        self.other = other
        self.health = health
    }
}

extension ChildStart {
    /// Serves the master channel on its own thread. The master going away
    /// ends the child: nobody would supervise it any more.
    public func serveMaster(_ handlers: MasterHandlers) {
        let logger = self.logger
        let master = self.master
        let manifest = self.manifest
        master.start(
            onRequest: { frame in
                switch frame.message {
                case .attachPeer(let role):
                    guard let fd = frame.descriptors.first else { return }
                    // Only the peers the manifest names, whatever is sent.
                    guard manifest.peers.contains(role) else {
                        logger.error("the master handed over a channel to \(role.rawValue), not a peer; closed")
                        close(fd)
                        return
                    }
                    handlers.attach(role, fd)
                case .reload(let text):
                    switch ConfigLoader.parse(text: text, file: "(from master)", checkFileSystem: false) {
                    case .success(let config): handlers.reload(config)
                    case .failure(let errors): logger.error("reload refused: \(errors)")
                    }
                case .shutdown:
                    handlers.shutdown()
                case .ping(let number):
                    handlers.health { [master] in try? master.send(.pong(number)) }
                case .reopenLog:
                    // Log lines go to standard error (a LogFile the master
                    // opened); after a rotation it is the new file.
                    guard let fd = frame.descriptors.first else { return }
                    dup2(fd, 2)
                    close(fd)
                default:
                    handlers.other(frame)
                }
            },
            onClose: { reason in
                if case .violation(let why) = reason { logger.critical("bad frame from the master: \(why)") }
                exit(0)
            })
    }

    /// Opens a peer channel handed over by the master and serves its requests;
    /// a violation is reported to the master, which restarts the offender.
    public func openPeer(
        _ role: Role, fd: Int32, onRequest: @escaping @Sendable (IPCChannel, Frame) -> Void,
        onClose: @escaping @Sendable (IPCChannel) -> Void = { _ in }
    ) -> IPCChannel {
        let channel = IPCChannel(fd: fd, peer: role, local: self.role)
        channel.start(
            onRequest: { frame in onRequest(channel, frame) },
            onClose: { [self] reason in
                if case .violation(let why) = reason { reportViolation(by: role, reason: why) }
                onClose(channel)
            })
        return channel
    }
}
