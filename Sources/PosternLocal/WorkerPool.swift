import Glibc
import Logging
import PosternCore
import PosternIPC
import PosternPrivilege

/// The worker pool's driver: it runs `WorkerPoolMachine` on `state`, one
/// serial queue, and carries out its actions — spawning workers, sending
/// them jobs, closing and killing them, answering parts, logging. The
/// machine, the worker processes and the parts' completions are touched
/// only from work items on `state`, through `feed`. Workers are reaped on
/// their channels' reader threads (a worker may take a while to exit),
/// never on `state`.
///
/// `state` is where `local` does its work, so the master's health check is
/// answered from there (`health`), and the timer that closes idle workers
/// and kills hung ones runs there too.
final class WorkerPool: @unchecked Sendable {
    let state = TaskQueue()
    private let logger: Logger

    /// Owned by `state`.
    private var machine: WorkerPoolMachine
    private var spawner: WorkerSpawner
    private var processes: [WorkerID: WorkerProcess] = [:]
    private var completions: [PartID: @Sendable ([RecipientOutcome]) -> Void] = [:]
    private var nextPart: UInt64 = 1
    /// Events that arrived while the machine was busy with another (an
    /// action's immediate outcome): handled next, in order, in the same turn.
    private var queued: [WorkerPoolEvent] = []
    private var feeding = false

    init(config: PosternConfig, mailGroup: gid_t, logMode: String, logger: Logger) {
        self.logger = logger
        self.machine = WorkerPoolMachine(settings: WorkerPoolSettings(config))
        self.spawner = WorkerSpawner(config: config, mailGroup: mailGroup, logMode: logMode)
    }

    // MARK: what local asks

    /// Delivers one part (one worker key's recipients of a job); the
    /// completion runs on `state` with one outcome per recipient.
    func deliver(
        _ job: DeliveryJob, user: WorkerKey, messageFD: Int32,
        completion: @escaping @Sendable ([RecipientOutcome]) -> Void
    ) {
        state.async { [self] in
            let id = PartID(nextPart)
            nextPart += 1
            completions[id] = completion
            feed(.partArrived(LocalPart(id: id, key: user, job: job, messageFD: messageFD)))
        }
    }

    func update(config: PosternConfig) {
        state.async { [self] in
            spawner.config = config
            feed(.reloaded(WorkerPoolSettings(config)))
        }
    }

    /// Every second: idle workers and job deadlines.
    func startTimer() {
        state.every(1) { [self] in feed(.tick) }
    }

    /// Runs the health check's answer once `state` gets to it.
    func health(_ answer: @escaping @Sendable () -> Void) {
        state.async(answer)
    }

    /// Closes every worker and waits until that is done (the caller then
    /// reaps them and exits). Never call it on `state`.
    func closeAll() {
        state.run { [self] in feed(.closeAll) }
    }

    // MARK: the machine

    /// Hands one event to the machine and performs what it asks. Runs on `state`.
    private func feed(_ event: WorkerPoolEvent) {
        queued.append(event)
        guard !feeding else { return }
        feeding = true
        var next = 0
        while next < queued.count {
            let event = queued[next]
            next += 1
            for action in machine.handle(event, now: MonotonicClock.now()) { perform(action) }
        }
        queued.removeAll(keepingCapacity: true)
        feeding = false
    }

    private func perform(_ action: WorkerPoolAction) {
        switch action {
        case .spawn(let id, let key):
            spawn(id, key)
        case .send(let id, let part):
            send(part, to: id)
        case .complete(let id, let outcomes):
            completions.removeValue(forKey: id)?(outcomes)
        case .close(let id):
            processes[id]?.channel.shutdown()
        case .kill(let id):
            guard let process = processes[id] else { return }
            if let error = process.kill() {
                logger.error("cannot kill delivery worker pid=\(process.pid): \(String(cString: strerror(error)))")
            }
        case .log(let line):
            logger.log(level: line.level, "\(line.text)")
        }
    }

    private func spawn(_ id: WorkerID, _ key: WorkerKey) {
        let result = spawner.spawn(key) { [self] pid, violation in
            // On the channel's reader thread: tell the machine (which kills
            // a violating worker), then reap.
            state.async {
                self.feed(.workerClosed(id, violation: violation))
                self.processes.removeValue(forKey: id)?.release()
            }
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
        switch result {
        case .success(let process):
            processes[id] = process
            feed(.workerSpawned(id, pid: process.pid))
        case .failure(let failure):
            feed(.workerNotSpawned(id, failure))
        }
    }

    private func send(_ part: LocalPart, to id: WorkerID) {
        let done: IPCChannel.Completion = { [self] result in
            let answer = Self.answer(result, for: part.job)
            state.async { self.feed(.jobAnswered(id, part.id, answer)) }
        }
        guard let process = processes[id] else { return done(.failure(.closed)) }
        process.channel.request(.deliver(part.job), descriptors: [part.messageFD], completion: done)
    }

    private static func answer(_ result: Result<Frame, IPCError>, for job: DeliveryJob) -> WorkerAnswer {
        switch result.map(\.message) {
        case .success(.deliveryResult(let id, let outcomes)) where id == job.queueID: return .outcomes(outcomes)
        case .success: return .nonsense
        case .failure: return .lost
        }
    }
}
