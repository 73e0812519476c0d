import Glibc
import PosternCore
import PosternIPC

/// What the master knows of one supervised child.
final class ChildRecord {
    enum State {
        case running(pid: pid_t, channel: IPCChannel)
        /// Dead; to be spawned again at `restartAt` (monotonic seconds).
        case waiting(restartAt: Double)
        /// Told to shut down; not restarted.
        case stopping(pid: pid_t, channel: IPCChannel)
        case stopped
    }

    let role: Role
    var state: State = .waiting(restartAt: 0)
    var startedAt: Double = 0
    /// Wall-clock seconds of the last start, for `postern status`; 0 before the first.
    var startedWall = 0
    /// Starts after the first one.
    var restarts = 0
    /// How the last process of this role ended ("status=1", "signal=9").
    var lastExit: String?
    /// Deaths in a row that came soon after a start: drives the backoff.
    var quickDeaths = 0
    /// The channel reached end of file: left out of poll until the reap.
    var channelAtEOF = false
    /// The health check (`Master.checkHealth`): it starts once the child
    /// said it is ready; one ping is outstanding at a time.
    var health = ChildHealth()

    init(role: Role) { self.role = role }

    var pid: pid_t? {
        switch state {
        case .running(let pid, _), .stopping(let pid, _): return pid
        case .waiting, .stopped: return nil
        }
    }

    var channel: IPCChannel? {
        switch state {
        case .running(_, let c), .stopping(_, let c): return c
        case .waiting, .stopped: return nil
        }
    }

    var isRunning: Bool {
        if case .running = state { return true }
        return false
    }

    /// Backoff after a death: immediate-ish at first, doubling while the
    /// child keeps dying within a minute of its start, capped at a minute.
    func restartDelay(now: Double) -> Double {
        if now - startedAt > 60 { quickDeaths = 0 }
        quickDeaths += 1
        let delay = 0.1 * Double(1 << min(quickDeaths - 1, 10))
        return min(delay, 60)
    }
}
