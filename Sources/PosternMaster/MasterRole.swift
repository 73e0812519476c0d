import CShims
import Glibc
import Logging
import PosternCore
import PosternIPC
import PosternPrivilege

/// The master: root, root directory `/`, all capabilities. It reads and
/// checks the configuration, binds the listening sockets, opens the log,
/// creates the socketpairs, spawns and supervises the children, reloads on
/// SIGHUP and drains on SIGTERM. It never reads a byte from the network:
/// its only inputs are the config file, signals, and typed frames from its
/// children over their master channels.
///
/// It is single-threaded: one poll loop over a signalfd and the children's
/// channels, so spawning and signal handling never race a second thread.
public final class Master {
    let configPath: String
    let debug: Bool
    var config: PosternConfig
    var logger: Logger
    var logMode = "stderr"
    var logFD: Int32 = 2
    var listenFDs: [(ListenAddress, Int32)] = []
    /// The queue's control sockets (`ControlSockets`), handed to every
    /// queue process the master starts.
    var controlFDs: [(ControlSocketAccess, Int32)] = []
    /// submit.sock, when a role is handed it (-1: none).
    var submitFD: Int32 = -1
    /// control.sock: `postern status`, `reload`, `stop` (-1: none).
    var adminFD: Int32 = -1
    /// Wall-clock seconds of the start and of the last configuration load.
    var startedWall = 0
    var loadedWall = 0
    var children: [Role: ChildRecord] = [:]
    /// What each child may touch, in the order they are started.
    let roles: [RoleManifest]
    /// The socketpairs between children, from the manifests.
    let edges: [(Role, Role)]
    var signalFD: Int32 = -1
    var shutdownPhases: [[Role]] = []
    var phaseDeadline: Double = 0
    var shuttingDown = false

    public init(configPath: String, config: PosternConfig, debug: Bool, roles: [RoleManifest]) {
        self.configPath = configPath
        self.config = config
        self.debug = debug
        self.logger = PosternLog.logger
        self.roles = roles
        self.edges = RoleManifests.edges(roles)
    }

    func manifest(of role: Role) -> RoleManifest? { roles.first { $0.role == role } }

    /// The peer `role` shares a socketpair with, by the manifests.
    func arePeers(_ a: Role, _ b: Role) -> Bool {
        edges.contains { ($0.0 == a && $0.1 == b) || ($0.0 == b && $0.1 == a) }
    }

    /// Runs until SIGTERM; returns the exit status.
    public func run() -> Int32 {
        guard getuid() == 0 else {
            StandardError.print("postern daemon: must be started as root")
            return 1
        }
        // Signals first, before anything could start a thread.
        signalFD = pst_signalfd_for_master()
        guard signalFD >= 0 else {
            StandardError.print("postern daemon: signalfd: \(String(cString: strerror(errno)))")
            return 1
        }
        openLog()
        let problems = RoleManifests.inconsistencies(roles)
        guard problems.isEmpty else {
            logger.critical("the role manifests disagree: \(problems.joined(separator: "; "))")
            return 1
        }
        do {
            for manifest in roles {
                if let name = manifest.systemUser { _ = try SystemAccount.lookup(name) }
            }
        } catch {
            logger.critical("\(error)")
            return 1
        }
        for address in config.listen {
            do {
                listenFDs.append((address, try ListenSockets.bind(address)))
            } catch {
                logger.critical("\(error)")
                return 1
            }
        }
        do {
            controlFDs = try ControlSockets.bind(runDirectory: config.runDirectory, adminGroup: config.queueAdminGroup)
            if roles.contains(where: { $0.handedOver.contains(.submitSocket) }) {
                submitFD = try ControlSockets.bindSubmit(runDirectory: config.runDirectory)
            }
            adminFD = try ControlSockets.bindMaster(
                runDirectory: config.runDirectory, adminGroup: config.queueAdminGroup)
        } catch {
            logger.critical("cannot make the control sockets: \(error)")
            return 1
        }
        writePidFile()
        startedWall = time(nil)
        loadedWall = startedWall
        logger.info("starting, listen=\(config.listen.map(\.description).joined(separator: " "))")
        for manifest in roles { children[manifest.role] = ChildRecord(role: manifest.role) }
        for manifest in roles { spawn(manifest.role) }
        return loop()
    }

    // MARK: log

    private func openLog() {
        if debug {
            logMode = "stderr"
            logFD = 2
            PosternLog.bootstrap(role: .master, sink: .stream(fd: 2))
            if let file = config.logFile {
                StandardError.print(
                    "postern daemon: -d: every process logs to standard error; LogFile \(file) is not written")
            }
        } else if let file = config.logFile {
            let fd = open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o640)
            if fd >= 0 {
                logFD = fd
                logMode = "stderr"
                PosternLog.bootstrap(role: .master, sink: .stream(fd: fd))
            } else {
                StandardError.print("postern daemon: cannot open \(file): \(String(cString: strerror(errno)))")
                logMode = "syslog:\(config.logFacility.value)"
                PosternLog.bootstrap(role: .master, sink: .syslog(facility: config.logFacility.value))
            }
        } else {
            logMode = "syslog:\(config.logFacility.value)"
            PosternLog.bootstrap(role: .master, sink: .syslog(facility: config.logFacility.value))
            var info = stat()
            if stat("/dev/log", &info) != 0 || info.st_mode & S_IFMT != S_IFSOCK {
                StandardError.print(
                    "postern daemon: no LogFile is configured and there is no syslog socket at /dev/log: nothing will be logged (set LogFile, or run a syslog daemon)"
                )
            }
        }
        logger = PosternLog.logger
    }

    /// SIGHUP, SIGUSR1 and `postern reload`: the LogFile opened anew (after
    /// logrotate moved it) on the same descriptor number, so the master's
    /// own lines follow at once, and handed to every child, which makes it
    /// its standard error. Delivery workers already running keep the old
    /// file until they exit (within LocalWorkerIdleTimeout of their last
    /// delivery). Nothing to do under -d or with syslog.
    func reopenLog() {
        guard !debug, let file = config.logFile, logMode == "stderr" else { return }
        let fd = open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o640)
        guard fd >= 0 else {
            logger.error("cannot reopen \(file): \(String(cString: strerror(errno))); still writing the old file")
            return
        }
        if fd != logFD {
            dup2(fd, logFD)
            _ = fcntl(logFD, F_SETFD, FD_CLOEXEC)
            close(fd)
        }
        for record in children.values where record.isRunning { send(.reopenLog, to: record, fds: [logFD]) }
        logger.info("log file reopened")
    }

    private func writePidFile() {
        let path = config.runDirectory + "/postern.pid"
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0o644)
        guard fd >= 0 else {
            logger.warning("cannot write \(path): \(String(cString: strerror(errno)))")
            return
        }
        let text = Array("\(getpid())\n".utf8)
        _ = write(fd, text, text.count)
        close(fd)
    }

    // MARK: spawning

    func spawn(_ role: Role) {
        guard let record = children[role], let manifest = manifest(of: role) else { return }
        let masterEnd: Int32
        let childEnd: Int32
        do {
            (masterEnd, childEnd) = try ChildSpawn.socketPair()
        } catch {
            logger.error("cannot create channel for \(role.rawValue): \(error)")
            record.state = .waiting(restartAt: MonotonicClock.now() + record.restartDelay(now: MonotonicClock.now()))
            return
        }
        let devNull = open("/dev/null", O_WRONLY | O_CLOEXEC)
        defer {
            close(childEnd)
            if devNull >= 0 { close(devNull) }
        }
        let pid: pid_t
        do {
            pid = try ChildSpawn.spawn(
                role: role, arguments: [logMode], descriptors: [-1, devNull, logFD, childEnd])
        } catch {
            close(masterEnd)
            logger.error("cannot spawn \(role.rawValue): \(error)")
            record.state = .waiting(restartAt: MonotonicClock.now() + record.restartDelay(now: MonotonicClock.now()))
            return
        }
        let channel = IPCChannel(fd: masterEnd, peer: role, local: .master)
        record.state = .running(pid: pid, channel: channel)
        record.channelAtEOF = false
        record.health = ChildHealth()
        record.startedAt = MonotonicClock.now()
        if record.startedWall != 0 { record.restarts += 1 }
        record.startedWall = time(nil)
        logger.info("started \(role.rawValue), pid=\(pid)")
        send(.configure(text: config.render()), to: record)
        for handover in manifest.handedOver {
            switch handover {
            case .listeningSockets:
                for (address, fd) in listenFDs {
                    send(.listenSocket(address: address.description), to: record, fds: [fd])
                }
            case .userDatabase:
                sendUserDatabase(to: record)
            case .controlSockets:
                for (access, fd) in controlFDs { send(.controlSocket(access), to: record, fds: [fd]) }
            case .submitSocket:
                if submitFD >= 0 { send(.submitSocket, to: record, fds: [submitFD]) }
            }
        }
        for peerRole in manifest.peers where arePeers(role, peerRole) {
            // A peer not running gets a fresh pair when it starts.
            guard let peer = children[peerRole], peer.isRunning else { continue }
            do {
                let (mine, theirs) = try ChildSpawn.socketPair()
                send(.attachPeer(peerRole), to: record, fds: [mine])
                send(.attachPeer(role), to: peer, fds: [theirs])
                close(mine)
                close(theirs)
            } catch {
                logger.error("cannot create the \(role.rawValue)-\(peerRole.rawValue) channel: \(error)")
            }
        }
    }

    func sendUserDatabase(to record: ChildRecord) {
        let fd = open("/etc/passwd", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            logger.error("cannot open /etc/passwd: \(String(cString: strerror(errno)))")
            return
        }
        send(.userDatabase, to: record, fds: [fd])
        close(fd)
    }

    func send(_ message: IPCMessage, to record: ChildRecord, fds: [Int32] = []) {
        guard let channel = record.channel else { return }
        do {
            try channel.send(message, descriptors: fds)
        } catch {
            logger.warning("cannot send \(message.kind) to \(record.role.rawValue): \(error)")
        }
    }
}
