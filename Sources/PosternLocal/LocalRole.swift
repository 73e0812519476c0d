import Glibc
import Logging
import PosternCore
import PosternIPC
import PosternPrivilege

/// The local-delivery process: uid 0 with only SETUID, SETGID, SYS_CHROOT,
/// DAC_READ_SEARCH and CHOWN, no chroot, no_new_privs. Because those are
/// root-equivalent, it never sees network input: it takes typed delivery
/// requests from the queue only, and writes no file itself. Each delivery is
/// done by a worker process that has become the recipient user first.
public enum LocalRole {
    /// SETUID and SETGID to become each recipient in a worker, SYS_CHROOT
    /// for a file worker's SafeFileEnvironment, DAC_READ_SEARCH to read a
    /// `.forward` in a private home, CHOWN to hand a created file over.
    public static let manifest = RoleManifest(
        role: .local, identity: .root, root: .none,
        capabilities: [.setuid, .setgid, .sysChroot, .dacReadSearch, .chown],
        peers: [.queue], job: "local delivery: expands aliases, runs a worker per recipient user")

    public static func run(_ start: ChildStart) -> Never {
        let mailGroup: gid_t
        do {
            mailGroup = try SystemAccount.groupID(start.config.mailGroup)
        } catch {
            start.logger.critical("\(error)")
            exit(1)
        }
        start.dropPrivileges()
        let pool = WorkerPool(
            config: start.config, mailGroup: mailGroup, logMode: start.logMode, logger: start.logger)
        let aliases = LocalAliases(config: start.config, logger: start.logger)
        let service = LocalService(pool: pool, aliases: aliases, logger: start.logger, start: start)
        start.serveMaster(
            MasterHandlers(
                attach: { role, fd in service.attach(role, fd: fd) },
                reload: {
                    pool.update(config: $0)
                    aliases.update(config: $0)
                },
                shutdown: {
                    pool.closeAll()
                    reapWorkers(within: 2)
                    exit(0)
                },
                // The pool's serial queue is where local works: it must be moving.
                health: { answer in pool.health(answer) }))
        pool.startTimer()
        try? start.master.send(.ready(.local))
        while true { pause() }
    }
}

/// Waits for the workers a shutdown closed, so none is left behind.
private func reapWorkers(within seconds: Double) {
    let deadline = MonotonicClock.now() + seconds
    while MonotonicClock.now() < deadline {
        var status: Int32 = 0
        let pid = waitpid(-1, &status, WNOHANG)
        if pid < 0 { return }  // ECHILD: all gone
        if pid == 0 { usleep(10_000) }
    }
}

/// Splits a delivery job by recipient user, hands each part to that user's
/// worker, and answers the queue once every part has an outcome. Alias
/// names are expanded here (the aliases are root's file, and expanding
/// writes nothing); `/dev/null` is a delivery that needs no worker.
final class LocalService: @unchecked Sendable {
    let pool: WorkerPool
    let aliases: LocalAliases
    let logger: Logger
    let start: ChildStart
    private let peers = PeerChannels()

    init(pool: WorkerPool, aliases: LocalAliases, logger: Logger, start: ChildStart) {
        self.pool = pool
        self.aliases = aliases
        self.logger = logger
        self.start = start
    }

    func attach(_ role: Role, fd: Int32) {
        let channel = start.openPeer(role, fd: fd) { [self] channel, frame in handle(frame, from: channel) }
        peers.replace(role, with: channel)
    }

    private func handle(_ frame: Frame, from channel: IPCChannel) {
        guard case .deliver(let job) = frame.message, let fd = frame.descriptors.first else {
            frame.descriptors.forEach { _ = close($0) }
            try? channel.respond(
                to: frame.requestID,
                with: .rejected(SMTPReply(code: 451, enhanced: "4.3.0", text: "Unsupported local request")))
            return
        }
        var byUser: [WorkerKey: [DeliveryRecipient]] = [:]
        var settled: [RecipientOutcome] = []
        for r in job.recipients {
            switch r.target {
            case .name where aliases.isAlias(r.localUser):
                let outcome = aliases.expand(r.localUser, recipient: r)
                logger.info("to=<\(r.address)>: \(outcome.text)", metadata: ["qid": "\(job.queueID)"])
                settled.append(outcome)
            case .file(let path) where SafeFilePath.isDevNull(path):
                settled.append(RecipientOutcome(index: r.index, status: .delivered, text: "discarded to /dev/null"))
            case .file(let path) where !path.hasSuffix("/"):
                byUser[WorkerKey(user: r.localUser, jailed: true), default: []].append(r)
            default:
                byUser[WorkerKey(user: r.localUser, jailed: false), default: []].append(r)
            }
        }
        let collector = OutcomeCollector(parts: byUser.count + 1) { outcomes in
            close(fd)
            try? channel.respond(to: frame.requestID, with: .deliveryResult(job.queueID, outcomes))
        }
        collector.add(settled)
        for (user, recipients) in byUser {
            // local's line about the message (`postern log --trace`): which worker has it.
            logger.info(
                "delivery by the worker of \(user), nrcpt=\(recipients.count)", metadata: ["qid": "\(job.queueID)"])
            let part = DeliveryJob(
                queueID: job.queueID, sender: job.sender, arrival: job.arrival, recipients: recipients)
            pool.deliver(part, user: user, messageFD: fd) { outcomes in collector.add(outcomes) }
        }
    }
}
