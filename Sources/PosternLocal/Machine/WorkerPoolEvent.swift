import PosternIPC

/// Everything that happens to the pool, as the driver tells it to
/// `WorkerPoolMachine.handle(_:now:)`: parts to deliver, the outcomes of
/// the spawns and jobs the machine asked for, the ends of workers, the
/// timer, the master's reload and shutdown.
enum WorkerPoolEvent {
    /// A part of a delivery job for one worker key.
    case partArrived(LocalPart)
    /// The answer to `spawn`: the worker runs, as this process.
    case workerSpawned(WorkerID, pid: Int32)
    /// The answer to `spawn`: no worker.
    case workerNotSpawned(WorkerID, WorkerSpawnFailure)
    /// The answer to `send`: how the worker answered that part.
    case jobAnswered(WorkerID, PartID, WorkerAnswer)
    /// The worker's channel reached its end: the worker exited, was
    /// closed or killed, or sent something that does not decode
    /// (`violation`, which gets it killed).
    case workerClosed(WorkerID, violation: String?)
    /// The timer, every second: idle workers and job deadlines.
    case tick
    /// A reload's configuration.
    case reloaded(WorkerPoolSettings)
    /// The master's shutdown: close every worker and start nothing new.
    case closeAll
}

/// How a worker answered one job.
enum WorkerAnswer: Equatable {
    /// Its outcomes, one per recipient of the job.
    case outcomes([RecipientOutcome])
    /// Something that is no answer to this job.
    case nonsense
    /// The request failed or the channel ended before the answer: the
    /// worker may have delivered.
    case lost
}
