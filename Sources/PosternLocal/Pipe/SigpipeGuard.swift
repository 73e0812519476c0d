#if canImport(Glibc)
    import Glibc
#endif

/// Keeps a write to a program that stopped reading from killing the worker.
///
/// Writing to a pipe without a reader raises SIGPIPE, whose default action
/// ends the process. Rather than depend on the caller having ignored it (a
/// process-wide setting this code does not own), the signal is blocked in
/// the calling thread only while the program is fed, so the write fails
/// with EPIPE instead. A SIGPIPE that a write raised meanwhile stays
/// pending; it is taken off with sigtimedwait before the old mask comes
/// back, or it would be delivered right then.
struct SigpipeGuard {
    private var previousMask = sigset_t()
    private var raised = false

    init() {
        var block = Self.sigpipeSet()
        pthread_sigmask(SIG_BLOCK, &block, &previousMask)
    }

    /// A write failed with EPIPE, so a SIGPIPE is pending for this thread.
    mutating func noteBrokenPipe() {
        raised = true
    }

    mutating func restore() {
        if raised {
            var pending = Self.sigpipeSet()
            var noWait = timespec()
            while sigtimedwait(&pending, nil, &noWait) == -1 && errno == EINTR {}
            raised = false
        }
        pthread_sigmask(SIG_SETMASK, &previousMask, nil)
    }

    private static func sigpipeSet() -> sigset_t {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGPIPE)
        return set
    }
}
