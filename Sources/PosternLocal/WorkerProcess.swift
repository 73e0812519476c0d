import CShims
import Glibc
import PosternIPC

/// A running worker as the driver holds it: its process, its user and its
/// channel. Touched only on the pool's serial queue.
struct WorkerProcess {
    let pid: pid_t
    /// The user the worker became, whose effective uid the kill takes.
    let uid: uid_t
    let channel: IPCChannel
    /// A pidfd (or -1 where the kernel has none): the worker is reaped by
    /// its channel's reader thread, and a SIGKILL sent after that must not
    /// reach a process that got the pid since.
    let pidfd: Int32

    /// SIGKILL, then the channel shut: a violating worker's reader is
    /// waiting for it to die, and a hung one must not be sent more work.
    /// `local` holds no CAP_KILL, so the signal comes from a thread that
    /// takes the worker's uid for that one call (`pst_signal_as_user`).
    /// Returns the errno of a failed signal.
    func kill() -> Int32? {
        let failed = pst_signal_as_user(pidfd, pid, uid, SIGKILL) != 0 ? errno : nil
        channel.shutdown()
        return failed
    }

    /// Lets go of the pidfd once the machine has forgotten the worker.
    func release() {
        if pidfd >= 0 { close(pidfd) }
    }
}
