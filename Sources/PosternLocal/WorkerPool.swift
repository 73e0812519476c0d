import Glibc
import Logging
import NIOConcurrencyHelpers
import PosternCore
import PosternIPC
import PosternPrivilege

/// One delivery process per recipient user, spawned on demand, kept while
/// the user has mail and closed when idle, bounded in number. A worker has
/// dropped to its user before it opens anything and never serves another
/// user: the pool keys workers by user name and never reassigns one.
final class WorkerPool: @unchecked Sendable {
    final class Worker {
        let user: WorkerKey
        let pid: pid_t
        let channel: IPCChannel
        var busy = 0
        var lastUsed: Double

        init(user: WorkerKey, pid: pid_t, channel: IPCChannel, now: Double) {
            self.user = user
            self.pid = pid
            self.channel = channel
            self.lastUsed = now
        }
    }

    struct Waiting {
        let job: DeliveryJob
        let user: WorkerKey
        let fd: Int32
        let completion: ([RecipientOutcome]) -> Void
    }

    private let lock = NIOLock()
    private var workers: [WorkerKey: Worker] = [:]
    private var waiting: [Waiting] = []
    private var limit: Int
    private var idleTimeout: Double
    private var mailDirectory: String
    private var homeMailbox: String
    private var config: PosternConfig
    private let mailGroup: gid_t
    private let logMode: String
    private let logger: Logger

    init(config: PosternConfig, mailGroup: gid_t, logMode: String, logger: Logger) {
        self.limit = config.localWorkerLimit
        self.idleTimeout = Double(config.localWorkerIdleTimeout)
        self.mailDirectory = config.mailDirectory
        self.homeMailbox = config.homeMailbox
        self.config = config
        self.mailGroup = mailGroup
        self.logMode = logMode
        self.logger = logger
    }

    func update(config: PosternConfig) {
        lock.withLock {
            limit = config.localWorkerLimit
            idleTimeout = Double(config.localWorkerIdleTimeout)
            mailDirectory = config.mailDirectory
            homeMailbox = config.homeMailbox
            self.config = config
        }
    }

    func deliver(
        _ job: DeliveryJob, user: WorkerKey, messageFD: Int32, completion: @escaping ([RecipientOutcome]) -> Void
    ) {
        enum Step {
            case send(Worker)
            case spawn(evict: Worker?)
            case wait
        }
        let step: Step = lock.withLock {
            if let w = workers[user] {
                w.busy += 1
                return .send(w)
            }
            if workers.count < limit { return .spawn(evict: nil) }
            if let idle = workers.values.filter({ $0.busy == 0 }).min(by: { $0.lastUsed < $1.lastUsed }) {
                workers[idle.user] = nil
                return .spawn(evict: idle)
            }
            waiting.append(Waiting(job: job, user: user, fd: messageFD, completion: completion))
            return .wait
        }
        switch step {
        case .wait:
            return
        case .send(let worker):
            send(job, to: worker, fd: messageFD, completion: completion)
        case .spawn(let evict):
            evict?.channel.shutdown()
            switch spawnWorker(for: user) {
            case .success(let worker):
                lock.withLock {
                    worker.busy += 1
                    workers[user] = worker
                }
                send(job, to: worker, fd: messageFD, completion: completion)
            case .failure(let failure):
                completion(
                    job.recipients.map {
                        RecipientOutcome(index: $0.index, status: failure.outcome.0, text: failure.outcome.1)
                    })
                drainWaiting()
            }
        }
    }

    private func send(
        _ job: DeliveryJob, to worker: Worker, fd: Int32, completion: @escaping ([RecipientOutcome]) -> Void
    ) {
        worker.channel.request(.deliver(job), descriptors: [fd]) { [self] result in
            let outcomes: [RecipientOutcome]
            switch result {
            case .success(let frame):
                if case .deliveryResult(let id, let list) = frame.message, id == job.queueID {
                    outcomes = list
                } else {
                    outcomes = job.recipients.map {
                        RecipientOutcome(
                            index: $0.index, status: .deferred, text: "4.3.0 bad answer from delivery worker",
                            interrupted: true)
                    }
                }
            case .failure:
                // It may have written before it died: the retry looks first.
                outcomes = job.recipients.map {
                    RecipientOutcome(
                        index: $0.index, status: .deferred, text: "4.3.0 delivery worker ended", interrupted: true)
                }
            }
            lock.withLock {
                worker.busy -= 1
                worker.lastUsed = MonotonicClock.now()
            }
            completion(outcomes)
            drainWaiting()
        }
    }

    /// Hands waiting deliveries to workers as room appears.
    private func drainWaiting() {
        let next: Waiting? = lock.withLock {
            guard !waiting.isEmpty else { return nil }
            let canRun =
                workers[waiting[0].user] != nil || workers.count < limit
                || workers.values.contains { $0.busy == 0 }
            return canRun ? waiting.removeFirst() : nil
        }
        if let next { deliver(next.job, user: next.user, messageFD: next.fd, completion: next.completion) }
    }

    private func spawnWorker(for user: WorkerKey) -> Result<Worker, WorkerSpawnFailure> {
        let (name, jailed) = (user.user, user.jailed)
        let account: SystemAccount
        do {
            account = try SystemAccount.lookup(name)
        } catch {
            return .failure(WorkerSpawnFailure((.failed, "5.1.1 user unknown")))
        }
        guard account.uid != 0 || !jailed else {
            // Files are never written as root, whatever an alias says.
            return .failure(WorkerSpawnFailure((.failed, "5.7.1 file deliveries do not run as root")))
        }
        // The mail group is for the mbox directory; a file worker has no
        // business there.
        let groups = Array(Set(account.supplementaryGroups() + (jailed ? [] : [mailGroup]))).map { UInt32($0) }.sorted()
        let (directory, maildir, config) = lock.withLock { (mailDirectory, homeMailbox, self.config) }
        let identity = WorkerIdentity(
            user: name, uid: account.uid, gid: account.gid, groups: groups, home: account.home,
            mailDirectory: directory, homeMailbox: maildir, smrshDirectory: config.smrshDirectory,
            pipeTimeout: UInt32(config.addressing.pipeTimeout), jail: jailed ? config.safeFileEnvironment : "",
            hostname: config.primaryDomain)
        do {
            let (mine, theirs) = try ChildSpawn.socketPair()
            let devNull = open("/dev/null", O_WRONLY | O_CLOEXEC)
            defer {
                close(theirs)
                if devNull >= 0 { close(devNull) }
            }
            let pid: pid_t
            do {
                pid = try ChildSpawn.spawn(
                    role: .localWorker, arguments: [logMode], descriptors: [-1, devNull, 2, theirs])
            } catch {
                close(mine)
                throw error
            }
            let channel = IPCChannel(fd: mine, peer: .localWorker, local: .local)
            try channel.send(.assignWorker(identity))
            let worker = Worker(user: user, pid: pid, channel: channel, now: MonotonicClock.now())
            channel.start(
                onRequest: { frame in frame.descriptors.forEach { _ = close($0) } },
                onClose: { [self] reason in
                    if case .violation(let why) = reason {
                        logger.error("protocol violation by the worker for \(user): \(why)")
                        kill(pid, SIGKILL)
                    }
                    var status: Int32 = 0
                    waitpid(pid, &status, 0)
                    lock.withLock {
                        if workers[user] === worker { workers[user] = nil }
                    }
                    drainWaiting()
                })
            logger.info("started delivery worker, user=\(user), pid=\(pid)")
            return .success(worker)
        } catch {
            logger.error("cannot start a delivery worker for \(user): \(error)")
            return .failure(WorkerSpawnFailure((.deferred, "4.3.0 cannot start delivery worker")))
        }
    }

    func startIdleReaper() {
        OSThread.start { [self] in
            while true {
                sleep(1)
                let now = MonotonicClock.now()
                let idle: [Worker] = lock.withLock {
                    let list = workers.values.filter { $0.busy == 0 && now - $0.lastUsed > idleTimeout }
                    for w in list { workers[w.user] = nil }
                    return list
                }
                for w in idle {
                    logger.info("closing idle delivery worker, user=\(w.user), pid=\(w.pid)")
                    w.channel.shutdown()
                }
            }
        }
    }

    func closeAll() {
        let all = lock.withLock { () -> [Worker] in
            defer { workers.removeAll() }
            return Array(workers.values)
        }
        all.forEach { $0.channel.shutdown() }
    }
}

struct WorkerSpawnFailure: Error {
    let outcome: (RecipientOutcome.Status, String)
    init(_ outcome: (RecipientOutcome.Status, String)) { self.outcome = outcome }
}

/// A worker's identity in the pool: the user, and whether it is that
/// user's SafeFileEnvironment worker (chrooted, files only). A user's two
/// kinds never share a process.
struct WorkerKey: Hashable, CustomStringConvertible {
    var user: String
    var jailed: Bool

    var description: String { jailed ? "\(user) (SafeFileEnvironment)" : user }
}
