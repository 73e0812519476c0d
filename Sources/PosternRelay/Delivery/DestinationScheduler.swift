import Glibc
import Logging
import PosternCore
import PosternIPC

/// Connections per destination domain: a slow start (two connections, one
/// more for each message delivered, up to DestinationConcurrency; halved
/// when a destination cannot be reached), connection reuse (a session that
/// finished a message takes the destination's next one, and waits up to
/// ConnectionCacheTime for more), and an optional rate limit in messages
/// per minute. Postfix's queue manager does the same per next hop. Across
/// destinations at most `maxConnections` run at once (each is a thread):
/// a message to a hundred domains must not mean a hundred new threads per
/// message in flight.
final class DestinationScheduler: @unchecked Sendable {
    /// Postfix's default_process_limit is 100; connections are cheaper here.
    static let maxConnections = 200

    struct Destination {
        var waiting: [RelayWork] = []
        var active = 0
        var limit: Double = 2
        /// Connections waiting for this destination's next message: new
        /// work goes to them before a new connection is opened.
        var idle = 0
        /// Monotonic times of recent message starts, for the rate limit.
        var starts: [Double] = []
    }

    private let lock = ConditionLock()
    private var destinations: [String: Destination] = [:]
    private var totalActive = 0
    private let maxConnections: Int
    private var cap: Int
    private var rate: Int
    private var cacheTime: Double
    private let startRunner: (RelayWork, DestinationScheduler) -> Void

    init(
        config: PosternConfig, maxConnections: Int = DestinationScheduler.maxConnections,
        startRunner: @escaping (RelayWork, DestinationScheduler) -> Void
    ) {
        self.maxConnections = maxConnections
        cap = config.relay.destinationConcurrency
        rate = config.relay.destinationRate
        cacheTime = Double(config.relay.connectionCacheTime)
        self.startRunner = startRunner
    }

    /// Answers the master's health check once the scheduler's lock can be
    /// taken: a relay wedged on it stops answering and is restarted.
    func health(_ answer: () -> Void) {
        lock.withLock {}
        answer()
    }

    func update(config: PosternConfig) {
        lock.withLock {
            cap = config.relay.destinationConcurrency
            rate = config.relay.destinationRate
            cacheTime = Double(config.relay.connectionCacheTime)
        }
    }

    func submit(_ work: RelayWork) {
        lock.withLock { destinations[work.destination, default: Destination()].waiting.append(work) }
        // A free connection to the destination takes it at once...
        lock.signal()
        // ...or a new one starts, if the destination has room.
        pump(work.destination)
    }

    /// Starts connections while the destination has work and room.
    func pump(_ key: String) {
        while let work = lock.withLock({ () -> RelayWork? in
            guard totalActive < maxConnections, var d = destinations[key], d.waiting.count > d.idle,
                d.active < max(1, min(Int(d.limit), cap)), allowsStart(&d)
            else { return nil }
            d.active += 1
            totalActive += 1
            let work = d.waiting.removeFirst()
            destinations[key] = d
            return work
        }) {
            startRunner(work, self)
        }
    }

    /// The rate limit: at most `rate` message starts in the last minute.
    /// Called with the lock held; records the start when it allows it.
    private func allowsStart(_ d: inout Destination) -> Bool {
        let now = MonotonicClock.now()
        if rate > 0 {
            d.starts.removeAll { now - $0 > 60 }
            guard d.starts.count < rate else { return false }
            d.starts.append(now)
        }
        return true
    }

    /// The destination's next message for a session that is free, waiting
    /// up to ConnectionCacheTime for one to arrive.
    func nextWork(for key: String) -> RelayWork? {
        let deadline =
            MonotonicClock.now()
            + lock.withLock { () -> Double in
                destinations[key]?.idle += 1
                return cacheTime
            }
        let work = lock.wait(until: deadline) { () -> RelayWork? in
            guard var d = destinations[key], !d.waiting.isEmpty, allowsStart(&d) else { return nil }
            let work = d.waiting.removeFirst()
            destinations[key] = d
            return work
        }
        lock.withLock { destinations[key]?.idle -= 1 }
        return work
    }

    /// A message reached the destination: the slow start opens one more
    /// connection's worth, up to the cap.
    func delivered(_ key: String) {
        lock.withLock {
            guard var d = destinations[key] else { return }
            d.limit = min(Double(cap), d.limit + 1)
            destinations[key] = d
        }
        pump(key)
    }

    /// A session ended: its slot is free; the limit halves when no host
    /// could be reached.
    func runnerEnded(_ key: String, unreachable: Bool) {
        let others: [String] = lock.withLock {
            totalActive -= 1
            if var d = destinations[key] {
                d.active -= 1
                if unreachable { d.limit = max(1, d.limit / 2) }
                destinations[key] = d.active == 0 && d.waiting.isEmpty && d.starts.isEmpty ? nil : d
            }
            return destinations.filter { $0.key != key && !$0.value.waiting.isEmpty }.map(\.key)
        }
        pump(key)
        // A slot freed under the global cap may go to another destination.
        others.forEach(pump)
    }

    /// Destinations held back by the rate limit get their turn.
    func startTicker() {
        OSThread.start { [self] in
            while true {
                sleep(1)
                let keys = lock.withLock { destinations.filter { !$0.value.waiting.isEmpty }.map(\.key) }
                keys.forEach(pump)
            }
        }
    }
}
