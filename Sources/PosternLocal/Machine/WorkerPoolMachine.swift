import PosternIPC

/// `local`'s worker pool as a state machine: one delivery worker per
/// recipient key, spawned on demand and reused while it has mail, at most
/// `limit` at once (the least recently used idle one is closed to make
/// room, or the part waits its turn), closed after `idleTimeout` idle,
/// killed when a job outlives its deadline; a worker's death answers the
/// recipients it held as interrupted. No I/O, no clock, no log and no
/// thread of its own: events go in (`WorkerPoolEvent`), actions come out
/// (`WorkerPoolAction`), and `WorkerPool` runs it on its one serial queue
/// and carries the actions out, so each decision can be tested as a
/// transcript (Tests/PosternLocalTests/WorkerPoolMachine*Tests.swift).
///
/// A worker never serves another key: the pool keys workers by user (and
/// jail) and never reassigns one.
struct WorkerPoolMachine {
    var settings: WorkerPoolSettings
    /// Every worker not yet seen to end, closing ones included.
    var workers: [WorkerID: PoolWorker] = [:]
    /// The worker serving each key (starting or running): these count
    /// against the limit.
    var serving: [WorkerKey: WorkerID] = [:]
    /// Parts that found the pool full and busy, oldest first.
    var waiting: [LocalPart] = []
    /// After `closeAll`: nothing new starts (the process is about to exit).
    var closed = false
    var nextWorker: UInt64 = 1

    init(settings: WorkerPoolSettings) {
        self.settings = settings
    }

    /// One event in, the actions it takes out. `now` is the monotonic clock
    /// in seconds, for idleness and job deadlines.
    mutating func handle(_ event: WorkerPoolEvent, now: Double) -> [WorkerPoolAction] {
        var actions: [WorkerPoolAction] = []
        switch event {
        case .partArrived(let part):
            if closed || !canStart(part) {
                waiting.append(part)
            } else {
                place(part, now: now, &actions)
            }
        case .workerSpawned(let id, let pid):
            spawned(id, pid: pid, now: now, &actions)
        case .workerNotSpawned(let id, let failure):
            notSpawned(id, failure, now: now, &actions)
        case .jobAnswered(let id, let part, let answer):
            answered(id, part, answer, now: now, &actions)
        case .workerClosed(let id, let violation):
            workerClosed(id, violation: violation, now: now, &actions)
        case .tick:
            expireJobs(now: now, &actions)
            closeIdle(now: now, &actions)
            drain(now: now, &actions)
        case .reloaded(let settings):
            self.settings = settings
            drain(now: now, &actions)
        case .closeAll:
            closed = true
            for id in workers.keys.sorted() {
                guard let phase = workers[id]?.phase, phase != .closing else { continue }
                retire(id)
                // A starting one is closed once its spawn answers.
                if phase == .running { actions.append(.close(id)) }
            }
        }
        return actions
    }

    // MARK: placing parts

    /// Whether a part can go to a worker now: its key's worker, a free
    /// slot, or an idle worker to close for it.
    func canStart(_ part: LocalPart) -> Bool {
        serving[part.key] != nil || serving.count < settings.limit || leastRecentlyUsedIdle() != nil
    }

    /// Gives the part to its key's worker, or starts one for it (closing
    /// the least recently used idle worker when the pool is full). Only
    /// for a part that `canStart`.
    mutating func place(_ part: LocalPart, now: Double, _ actions: inout [WorkerPoolAction]) {
        if let id = serving[part.key] {
            return assign(part, to: id, now: now, &actions)
        }
        if serving.count >= settings.limit, let idle = leastRecentlyUsedIdle() {
            retire(idle)
            actions.append(.close(idle))
        }
        let id = WorkerID(nextWorker)
        nextWorker += 1
        var worker = PoolWorker(id: id, key: part.key, now: now)
        worker.unsent = [part]
        workers[id] = worker
        serving[part.key] = id
        actions.append(.spawn(id, part.key))
    }

    /// Sends the part to a running worker, or keeps it for a starting one.
    /// A busy worker gets it at once too: it takes its jobs in order.
    mutating func assign(_ part: LocalPart, to id: WorkerID, now: Double, _ actions: inout [WorkerPoolAction]) {
        guard var worker = workers[id] else { return }
        if worker.phase == .starting {
            worker.unsent.append(part)
        } else {
            if worker.jobs.isEmpty { worker.jobStarted = now }
            worker.jobs.append(part)
            actions.append(.send(id, part))
        }
        workers[id] = worker
    }

    /// Starts waiting parts, oldest first, while the oldest can start.
    mutating func drain(now: Double, _ actions: inout [WorkerPoolAction]) {
        while !closed, let next = waiting.first, canStart(next) {
            waiting.removeFirst()
            place(next, now: now, &actions)
        }
    }

    /// The idle worker that has waited longest (the older one on a tie).
    func leastRecentlyUsedIdle() -> WorkerID? {
        workers.values.filter(\.isIdle).min { ($0.lastUsed, $0.id) < ($1.lastUsed, $1.id) }?.id
    }

    /// Takes a worker out of service: its key gets a new one next time.
    mutating func retire(_ id: WorkerID) {
        guard let worker = workers[id] else { return }
        workers[id]?.phase = .closing
        if serving[worker.key] == id { serving[worker.key] = nil }
    }
}
