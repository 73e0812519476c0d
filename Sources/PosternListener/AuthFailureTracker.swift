/// Failed AUTH attempts per client address, across its sessions, so that a
/// client cannot reset the growing delay by reconnecting. A client's count
/// is forgotten after `window` seconds without a failure, or at a success.
/// Pure: the caller supplies the time and holds the lock.
struct AuthFailureTracker {
    var window: Double = 600
    /// Addresses remembered at most; beyond it the oldest are forgotten, so
    /// that a spread of addresses cannot grow the listener.
    var capacity = 10_000

    private var failures: [String: (count: Int, last: Double)] = [:]

    /// Records one failure and returns the client's count, this one included.
    mutating func recordFailure(_ client: String, now: Double) -> Int {
        var entry = failures[client] ?? (0, now)
        if now - entry.last >= window { entry.count = 0 }
        entry.count += 1
        entry.last = now
        failures[client] = entry
        if failures.count > capacity { forgetOldest(now: now) }
        return entry.count
    }

    mutating func recordSuccess(_ client: String) { failures[client] = nil }

    func count(_ client: String, now: Double) -> Int {
        guard let entry = failures[client], now - entry.last < window else { return 0 }
        return entry.count
    }

    private mutating func forgetOldest(now: Double) {
        failures = failures.filter { now - $0.value.last < window }
        guard failures.count > capacity else { return }
        let keep = failures.sorted { $0.value.last > $1.value.last }.prefix(capacity * 9 / 10)
        failures = Dictionary(uniqueKeysWithValues: keep.map { ($0.key, $0.value) })
    }
}
