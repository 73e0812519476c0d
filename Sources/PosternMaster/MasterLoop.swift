import CShims
import Glibc
import PosternCore
import PosternIPC

extension Master {
    /// The poll loop: signals, children's frames, restarts that are due, and
    /// the shutdown phases' deadlines.
    func loop() -> Int32 {
        while true {
            let now = MonotonicClock.now()
            var fds = [
                pollfd(fd: signalFD, events: Int16(POLLIN), revents: 0),
                pollfd(fd: adminFD, events: Int16(POLLIN), revents: 0),
            ]
            var owners: [ChildRecord] = []
            for record in children.values {
                if let channel = record.channel, !record.channelAtEOF {
                    fds.append(pollfd(fd: channel.fd, events: Int16(POLLIN), revents: 0))
                    owners.append(record)
                }
            }
            var timeout = 1000.0
            for record in children.values {
                if case .waiting(let at) = record.state, !shuttingDown {
                    timeout = min(timeout, max(0, (at - now) * 1000))
                }
            }
            if shuttingDown { timeout = min(timeout, max(0, (phaseDeadline - now) * 1000)) }
            let n = poll(&fds, nfds_t(fds.count), Int32(timeout.rounded(.up)))
            if n < 0 && errno != EINTR {
                logger.critical("poll: \(String(cString: strerror(errno)))")
                return 1
            }
            if fds[0].revents & Int16(POLLIN) != 0 {
                while true {
                    let sig = pst_signalfd_read(signalFD)
                    if sig == 0 { break }
                    if let status = handle(signal: sig) { return status }
                }
            }
            if fds[1].revents & Int16(POLLIN) != 0, let status = serveControl() { return status }
            for (i, record) in owners.enumerated() where fds[i + 2].revents != 0 {
                readFrame(from: record)
            }
            if let status = advance() { return status }
        }
    }

    /// Returns an exit status when the master should exit.
    private func handle(signal sig: Int32) -> Int32? {
        switch sig {
        case SIGCHLD:
            reap()
            return shuttingDown && children.values.allSatisfy({ $0.pid == nil }) ? finishShutdown() : nil
        case SIGTERM, SIGINT:
            if !shuttingDown { beginShutdown() }
            return nil
        case SIGHUP:
            logger.info("\(reload().logLine)")
            reopenLog()
            return nil
        case SIGUSR1:
            reopenLog()
            return nil
        default:
            return nil
        }
    }

    private func readFrame(from record: ChildRecord) {
        guard let channel = record.channel else { return }
        do {
            guard let frame = try channel.receive() else {
                // The child closed its channel: it is exiting, or broken and
                // killed here; either way SIGCHLD follows and the reap restarts it.
                record.channelAtEOF = true
                if !shuttingDown, let pid = record.pid { kill(pid, SIGKILL) }
                return
            }
            frame.descriptors.forEach { _ = close($0) }
            switch frame.message {
            case .ready(let role):
                logger.info("\(role.rawValue) ready, pid=\(record.pid ?? 0)")
                record.health.ready = true
            case .pong(let number):
                healthAnswered(number, by: record)
            case .peerViolation(let offender, let reason)
            where !arePeers(record.role, offender):
                // A child may only accuse a peer it shares a socketpair with:
                // otherwise one compromised child could have any other killed.
                logger.error(
                    "\(record.role.rawValue) accuses \(offender.rawValue), which is not its peer (\(reason)); restarting \(record.role.rawValue)"
                )
                if let pid = record.pid { kill(pid, SIGKILL) }
            case .peerViolation(let offender, let reason):
                logger.error(
                    "\(record.role.rawValue) reports a protocol violation by \(offender.rawValue): \(reason); restarting \(offender.rawValue)"
                )
                if let pid = children[offender]?.pid { kill(pid, SIGKILL) }
            default:
                logger.error("unexpected \(frame.message.kind) from \(record.role.rawValue); restarting it")
                if let pid = record.pid { kill(pid, SIGKILL) }
            }
        } catch {
            logger.error("protocol violation by \(record.role.rawValue) on its master channel: \(error); restarting it")
            if let pid = record.pid { kill(pid, SIGKILL) }
        }
    }

    private func reap() {
        while true {
            var status: Int32 = 0
            let pid = waitpid(-1, &status, WNOHANG)
            if pid <= 0 { return }
            guard let record = children.values.first(where: { $0.pid == pid }) else { continue }
            let how = describe(status: status)
            record.lastExit = how
            record.channel?.release()
            if shuttingDown {
                logger.info("\(record.role.rawValue) exited, pid=\(pid), \(how)")
                record.state = .stopped
                continue
            }
            let now = MonotonicClock.now()
            let delay = record.restartDelay(now: now)
            if record.quickDeaths >= 5 {
                logger.critical(
                    "\(record.role.rawValue) keeps dying (\(record.quickDeaths) times in a row), pid=\(pid), \(how); next restart in \(delay)s"
                )
            } else {
                logger.error("\(record.role.rawValue) died, pid=\(pid), \(how); restarting in \(delay)s")
            }
            record.state = .waiting(restartAt: now + delay)
        }
    }

    private func describe(status: Int32) -> String {
        if status & 0x7F == 0 { return "status=\((status >> 8) & 0xFF)" }
        return "signal=\(status & 0x7F)"
    }

    /// Restarts what is due and moves the shutdown along.
    private func advance() -> Int32? {
        let now = MonotonicClock.now()
        if !shuttingDown {
            for record in children.values {
                if case .waiting(let at) = record.state, at <= now { spawn(record.role) }
            }
            checkHealth(now: now)
            return nil
        }
        let current = shutdownPhases.first ?? []
        let phaseDone = current.allSatisfy { children[$0]?.pid == nil }
        if phaseDone || now >= phaseDeadline {
            if !phaseDone {
                for role in current {
                    if let pid = children[role]?.pid {
                        logger.warning("\(role.rawValue) did not stop in time; killing pid=\(pid)")
                        kill(pid, SIGKILL)
                    }
                }
            }
            if !shutdownPhases.isEmpty { shutdownPhases.removeFirst() }
            if shutdownPhases.isEmpty {
                if children.values.allSatisfy({ $0.pid == nil }) { return finishShutdown() }
                phaseDeadline = now + 2
                return nil
            }
            startPhase()
        }
        return nil
    }

    /// SIGTERM: the listener stops accepting and finishes its sessions first;
    /// then the queue finishes its in-flight deliveries; then the rest.
    func beginShutdown() {
        logger.info("shutting down")
        shuttingDown = true
        for (_, fd) in listenFDs { close(fd) }
        listenFDs.removeAll()
        for (_, fd) in controlFDs { close(fd) }
        controlFDs.removeAll()
        if submitFD >= 0 { close(submitFD) }
        submitFD = -1
        if adminFD >= 0 { close(adminFD) }
        adminFD = -1
        ControlSockets.unlinkAll(runDirectory: config.runDirectory)
        for record in children.values {
            if case .waiting = record.state { record.state = .stopped }
        }
        shutdownPhases = [[.listener, .submit], [.queue], [.local, .relay, .lookup]]
        startPhase()
    }

    private func startPhase() {
        guard let phase = shutdownPhases.first else { return }
        phaseDeadline = MonotonicClock.now() + Double(config.shutdownTimeout)
        for role in phase {
            guard let record = children[role], let pid = record.pid, let channel = record.channel else { continue }
            send(.shutdown, to: record)
            record.state = .stopping(pid: pid, channel: channel)
        }
    }

    private func finishShutdown() -> Int32 {
        unlink(config.runDirectory + "/postern.pid")
        logger.info("stopped")
        return 0
    }

    /// SIGHUP and `postern reload`: a broken config is refused and the
    /// running one kept; a good one goes to every child, with the names of
    /// the changed options that wait for a restart.
    func reload() -> ReloadOutcome {
        switch ConfigLoader.load(path: configPath) {
        case .failure(let errors):
            logger.error("reload refused, keeping the running configuration: \(errors)")
            return .refused("\(errors)")
        case .success(let fresh):
            // The options marked restart-only in the table are warned about
            // and, for Listen, kept as they run.
            let reload = config.reloaded(from: fresh)
            for warning in reload.restartWarnings { logger.warning("\(warning)") }
            config = reload.config
            loadedWall = time(nil)
            for record in children.values where record.isRunning {
                send(.reload(text: config.render()), to: record)
                if manifest(of: record.role)?.handedOver.contains(.userDatabase) == true {
                    sendUserDatabase(to: record)
                }
            }
            return .applied(changed: reload.changedOptions, waitingForRestart: reload.restartOptions)
        }
    }
}
