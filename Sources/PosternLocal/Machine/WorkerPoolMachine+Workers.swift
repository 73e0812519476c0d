import PosternIPC

/// What the machine makes of what its workers do: a spawn's outcome, a
/// job's answer, a channel's end.
extension WorkerPoolMachine {
    /// The worker runs: what waited for it is sent.
    mutating func spawned(_ id: WorkerID, pid: Int32, now: Double, _ actions: inout [WorkerPoolAction]) {
        guard var worker = workers[id] else { return }
        worker.pid = pid
        guard worker.phase == .starting else {
            // Closed while it was starting (closeAll): it has no work.
            workers[id] = worker
            actions.append(.close(id))
            return
        }
        actions.append(.log(.info("started delivery worker, user=\(worker.key), pid=\(pid)")))
        worker.phase = .running
        worker.lastUsed = now
        worker.jobStarted = now
        worker.jobs = worker.unsent
        worker.unsent = []
        workers[id] = worker
        for part in worker.jobs { actions.append(.send(id, part)) }
    }

    /// No worker: what waited for it gets the failure's outcome, and the
    /// slot it held may start a waiting part.
    mutating func notSpawned(
        _ id: WorkerID, _ failure: WorkerSpawnFailure, now: Double, _ actions: inout [WorkerPoolAction]
    ) {
        guard let worker = workers.removeValue(forKey: id) else { return }
        if serving[worker.key] == id { serving[worker.key] = nil }
        if case .cannotStart(let reason) = failure {
            actions.append(.log(.error("cannot start a delivery worker for \(worker.key): \(reason)")))
        }
        let (status, text) = failure.outcome
        for part in worker.unsent {
            actions.append(
                .complete(
                    part.id, part.job.recipients.map { RecipientOutcome(index: $0.index, status: status, text: text) }))
        }
        drain(now: now, &actions)
    }

    /// A job's answer completes its part. A lost one means the worker is
    /// gone or unusable: it is closed, and its key gets a new worker.
    mutating func answered(
        _ id: WorkerID, _ partID: PartID, _ answer: WorkerAnswer, now: Double, _ actions: inout [WorkerPoolAction]
    ) {
        // Not found: already answered (the job outlived its deadline).
        guard var worker = workers[id], let index = worker.jobs.firstIndex(where: { $0.id == partID }) else { return }
        let part = worker.jobs.remove(at: index)
        worker.lastUsed = now
        worker.jobStarted = now
        workers[id] = worker
        switch answer {
        case .outcomes(let outcomes):
            actions.append(.complete(partID, outcomes))
        case .nonsense:
            actions.append(.complete(partID, Self.interrupted(part, "4.3.0 bad answer from delivery worker")))
        case .lost:
            // It may have written before it died: the retry looks first.
            actions.append(.complete(partID, Self.interrupted(part, "4.3.0 delivery worker ended")))
            if worker.phase == .running {
                retire(id)
                actions.append(.close(id))
            }
        }
        drain(now: now, &actions)
    }

    /// The worker's channel ended: it is forgotten, and a violation gets
    /// it killed (it may still be running).
    mutating func workerClosed(
        _ id: WorkerID, violation: String?, now: Double, _ actions: inout [WorkerPoolAction]
    ) {
        guard let worker = workers.removeValue(forKey: id) else { return }
        if serving[worker.key] == id { serving[worker.key] = nil }
        if let violation {
            actions.append(.log(.error("protocol violation by the worker for \(worker.key): \(violation)")))
            actions.append(.kill(id))
        }
        // The channel fails its requests before it reports its end, so
        // nothing is normally left; whatever is left is answered as lost.
        for part in worker.jobs {
            actions.append(.complete(part.id, Self.interrupted(part, "4.3.0 delivery worker ended")))
        }
        // Never sent (a worker ends only once it ran): they wait again.
        waiting.insert(contentsOf: worker.unsent, at: 0)
        drain(now: now, &actions)
    }

    /// Every recipient of the part deferred, and marked as possibly
    /// delivered: the next attempt looks for an earlier copy first.
    static func interrupted(_ part: LocalPart, _ text: String) -> [RecipientOutcome] {
        part.job.recipients.map {
            RecipientOutcome(index: $0.index, status: .deferred, text: text, interrupted: true)
        }
    }
}
