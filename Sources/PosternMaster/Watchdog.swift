import Glibc
import PosternCore
import PosternIPC

/// What the master knows of one child's answers to its health check.
struct ChildHealth {
    /// The child said it is ready: only then is it pinged (starting up,
    /// with maps to load, is not being stuck).
    var ready = false
    var number: UInt64 = 0
    /// When the ping now outstanding was sent; nil when answered.
    var outstandingSince: Double?
    var lastPing: Double = 0
    /// Killed for not answering: said once.
    var killed = false
}

extension Master {
    /// How often a child is asked: a quarter of the watchdog timeout,
    /// between one and fifteen seconds.
    var pingInterval: Double { max(1, min(Double(config.watchdogTimeout) / 4, 15)) }

    /// Pings every ready child that has no ping outstanding and is due,
    /// and kills one whose ping has gone unanswered for longer than
    /// `Timeout.watchdog` (stopped, deadlocked, stuck on a file system):
    /// it is then restarted like a child that died, and what it was doing
    /// is recovered as after any death.
    func checkHealth(now: Double) {
        let timeout = Double(config.watchdogTimeout)
        for record in children.values where record.isRunning && record.health.ready && !record.channelAtEOF {
            guard let pid = record.pid else { continue }
            if let since = record.health.outstandingSince {
                guard now - since > timeout, !record.health.killed else { continue }
                logger.critical(
                    "\(record.role.rawValue) has not answered the health check for \(Int(now - since))s (Timeout.watchdog \(config.watchdogTimeout)s); killing pid=\(pid)"
                )
                record.health.killed = true
                kill(pid, SIGKILL)
            } else if now - record.health.lastPing >= pingInterval {
                record.health.number &+= 1
                record.health.outstandingSince = now
                record.health.lastPing = now
                send(.ping(record.health.number), to: record)
            }
        }
    }

    /// A child's answer; an old number (answered after a newer ping went
    /// out) changes nothing.
    func healthAnswered(_ number: UInt64, by record: ChildRecord) {
        if number == record.health.number { record.health.outstandingSince = nil }
    }
}
