import Glibc
import PosternCore
import PosternIPC

/// The master's control socket (control.sock, root:QueueAdminGroup 0660):
/// one command line per connection — `status`, `reload`, `stop` — answered
/// with text. Who may connect is the file system's business, as for the
/// queue's admin socket. The master is single-threaded, so a connection is
/// served at once with a short timeout: a client that stalls costs the
/// loop at most a second.
extension Master {
    /// Serves every pending connection; an exit status when `stop` ends
    /// the master at once (never: the shutdown runs through the loop).
    func serveControl() -> Int32? {
        while true {
            let client = accept(adminFD, nil, nil)
            if client < 0 { return nil }
            _ = fcntl(client, F_SETFD, FD_CLOEXEC)
            _ = fcntl(client, F_SETFL, fcntl(client, F_GETFL) & ~O_NONBLOCK)
            var timeout = timeval(tv_sec: 1, tv_usec: 0)
            setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            setsockopt(client, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            let answer = controlAnswer(Self.readLine(client))
            _ = Array(answer.utf8).withUnsafeBytes { write(client, $0.baseAddress, $0.count) }
            close(client)
        }
    }

    private func controlAnswer(_ line: String?) -> String {
        switch line {
        case "status":
            return status().text
        case "reload":
            guard !shuttingDown else { return "error: shutting down\n" }
            let outcome = reload()
            logger.info("\(outcome.logLine) (postern reload)")
            reopenLog()
            return outcome.answer
        case "stop":
            logger.info("stop requested (postern stop)")
            if !shuttingDown { beginShutdown() }
            return "stopping\n"
        default:
            return "error: expected status, reload or stop\n"
        }
    }

    /// At most 64 bytes up to a newline.
    private static func readLine(_ fd: Int32) -> String? {
        var bytes: [UInt8] = []
        var byte: UInt8 = 0
        while bytes.count < 64 {
            guard read(fd, &byte, 1) == 1 else { return nil }
            if byte == 0x0A { return String(validating: bytes, as: UTF8.self) }
            bytes.append(byte)
        }
        return nil
    }

    func status() -> MasterStatus {
        let now = time(nil)
        let children = roles.compactMap { manifest -> MasterStatus.Child? in
            guard let record = self.children[manifest.role] else { return nil }
            let state: String
            switch record.state {
            case .running: state = record.health.ready ? "ready" : "starting"
            case .waiting: state = "restarting"
            case .stopping: state = "stopping"
            case .stopped: state = "stopped"
            }
            let pid = record.pid
            return MasterStatus.Child(
                role: manifest.role.rawValue, pid: pid, user: pid.map(Self.user(of:)) ?? "-",
                root: pid.map { Self.root(of: $0) ?? configuredRoot(manifest) } ?? "-",
                uptime: pid.map { _ in now - record.startedWall },
                restarts: record.restarts, lastExit: record.lastExit, state: state)
        }
        return MasterStatus(
            version: PosternVersion.current, masterPID: getpid(), uptime: now - startedWall, configPath: configPath,
            configLoaded: RFC5322Date.format(epochSeconds: Int64(loadedWall)),
            listening: listenFDs.map { $0.0.description }, children: children, shuttingDown: shuttingDown)
    }

    /// The root the manifest names, marked as such: what it should be.
    private func configuredRoot(_ manifest: RoleManifest) -> String {
        (manifest.root.path(in: config) ?? "/") + "(configured)"
    }

    /// The real uid's name, from /proc/PID/status.
    static func user(of pid: pid_t) -> String {
        guard let text = readProcFile("/proc/\(pid)/status"),
            let line = text.split(separator: "\n").first(where: { $0.hasPrefix("Uid:") }),
            let uid = line.split(whereSeparator: { $0 == "\t" || $0 == " " }).dropFirst().first.flatMap({ UInt32($0) })
        else { return "?" }
        guard let entry = getpwuid(uid), let name = entry.pointee.pw_name else { return "\(uid)" }
        return String(cString: name)
    }

    /// Nil when /proc does not say (reading another user's root needs
    /// CAP_SYS_PTRACE, which the systemd unit does not grant).
    static func root(of pid: pid_t) -> String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/\(pid)/root", &buffer, buffer.count - 1)
        guard n > 0 else { return nil }
        return String(decoding: buffer.prefix(n).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    private static func readProcFile(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 8192)
        let n = read(fd, &buffer, buffer.count)
        return n > 0 ? String(decoding: buffer.prefix(n), as: UTF8.self) : nil
    }
}
