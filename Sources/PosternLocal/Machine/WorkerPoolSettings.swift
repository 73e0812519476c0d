import PosternCore

/// What the pool takes from the configuration; a reload replaces it.
struct WorkerPoolSettings: Equatable {
    /// `LocalWorkerLimit`: workers alive at once.
    var limit: Int
    /// `LocalWorkerIdleTimeout`: seconds an idle worker is kept.
    var idleTimeout: Double
    /// `PipeTimeout`: seconds a pipe delivery's program may run.
    var pipeTimeout: Double

    init(limit: Int = 64, idleTimeout: Double = 60, pipeTimeout: Double = 1_000) {
        self.limit = limit
        self.idleTimeout = idleTimeout
        self.pipeTimeout = pipeTimeout
    }

    init(_ config: PosternConfig) {
        self.init(
            limit: config.localWorkerLimit, idleTimeout: Double(config.localWorkerIdleTimeout),
            pipeTimeout: Double(config.addressing.pipeTimeout))
    }

    /// How long a worker may take over a job before it is taken for hung
    /// and killed. A worker delivers a job's recipients one after another,
    /// and each may legitimately take long: a program may run for
    /// `PipeTimeout` before the worker kills it, and a mailbox write waits
    /// up to 10 s for the lock and then copies and fsyncs the message. So
    /// each recipient gets `PipeTimeout` plus a minute, and never less
    /// than ten minutes (a short `PipeTimeout` says nothing about a big
    /// message on a slow disk). Generous on purpose: this catches a worker
    /// that is stuck, not one that is slow.
    func jobDeadline(recipients: Int) -> Double {
        max(pipeTimeout + 60, 600) * Double(max(1, recipients))
    }
}
