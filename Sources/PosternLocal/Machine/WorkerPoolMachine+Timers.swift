/// What the timer's tick decides: workers stuck in a job are killed,
/// idle ones closed.
extension WorkerPoolMachine {
    /// A worker that has worked on one job longer than its deadline is
    /// taken for hung: it is killed and every part it held is answered as
    /// interrupted at once (it may have written; the retry looks first),
    /// without waiting for its channel to end — a process stuck in the
    /// kernel may not die soon. A late answer is ignored.
    mutating func expireJobs(now: Double, _ actions: inout [WorkerPoolAction]) {
        for id in workers.keys.sorted() {
            guard let worker = workers[id], worker.phase == .running, let current = worker.jobs.first else { continue }
            let deadline = settings.jobDeadline(recipients: current.job.recipients.count)
            let elapsed = now - worker.jobStarted
            guard elapsed > deadline else { continue }
            actions.append(
                .log(
                    .error(
                        "delivery worker for \(worker.key) has not answered \(current.job.queueID) for"
                            + " \(Int(elapsed.rounded(.up)))s (deadline \(Int(deadline))s); killing pid=\(worker.pid ?? 0)"
                    )))
            retire(id)
            workers[id]?.jobs = []
            actions.append(.kill(id))
            for part in worker.jobs {
                actions.append(
                    .complete(part.id, Self.interrupted(part, "4.3.0 delivery worker did not answer in time")))
            }
        }
    }

    /// Closes the workers idle for longer than `idleTimeout`.
    mutating func closeIdle(now: Double, _ actions: inout [WorkerPoolAction]) {
        for id in workers.keys.sorted() {
            guard let worker = workers[id], worker.isIdle, now - worker.lastUsed > settings.idleTimeout else {
                continue
            }
            actions.append(.log(.info("closing idle delivery worker, user=\(worker.key), pid=\(worker.pid ?? 0)")))
            retire(id)
            actions.append(.close(id))
        }
    }
}
