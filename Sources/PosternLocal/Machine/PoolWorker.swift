/// One worker as the machine keeps it: its key, where it is in its life,
/// and the parts it holds.
struct PoolWorker: Equatable {
    enum Phase: Equatable {
        /// Asked for; the spawn has not answered yet.
        case starting
        /// Serving its key.
        case running
        /// Closed, killed or lost: it takes no more parts and is no longer
        /// counted against the limit; it is forgotten when its channel ends.
        case closing
    }

    let id: WorkerID
    let key: WorkerKey
    var phase = Phase.starting
    /// Known once it runs, for the log.
    var pid: Int32?
    /// Parts that came while it was starting, sent once it runs.
    var unsent: [LocalPart] = []
    /// Parts sent and not answered, in the order the worker takes them
    /// (one at a time: the first is the one it is working on).
    var jobs: [LocalPart] = []
    /// When it last answered (or started): the idle timeout and the
    /// eviction order count from here.
    var lastUsed: Double
    /// When it began the job it is working on: when that job was sent to
    /// it idle, or when it answered the one before. The job deadline counts
    /// from here, so a job is not blamed for the time spent on its
    /// predecessors.
    var jobStarted: Double

    init(id: WorkerID, key: WorkerKey, now: Double) {
        self.id = id
        self.key = key
        self.lastUsed = now
        self.jobStarted = now
    }

    /// Running with nothing to do: it may be evicted or closed when idle.
    var isIdle: Bool { phase == .running && jobs.isEmpty && unsent.isEmpty }
}
