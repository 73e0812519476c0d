/// Which exchange: the listener's number for it, on one listener channel
/// (a restarted listener numbers from scratch on a new channel).
struct SASLExchangeKey: Hashable, Sendable {
    var channel: ObjectIdentifier
    var exchange: UInt64
}

/// The live AUTH exchanges. Bounded, because each holds a Cyrus connection
/// and a listener that starts exchanges and never finishes them must not
/// grow the lookup: beyond `capacity` the least recently used is dropped.
/// An exchange idle for `idleLimit` seconds is dropped too (a client that
/// walked away mid-AUTH). Dropping an entry disposes its value. Not
/// thread-safe: the authenticator touches it from its one queue only.
struct SASLExchangeTable<Value> {
    private struct Entry {
        var value: Value
        var lastUsed: Double
    }

    let capacity: Int
    let idleLimit: Double
    private var entries: [SASLExchangeKey: Entry] = [:]

    init(capacity: Int = 1024, idleLimit: Double = 600) {
        self.capacity = max(1, capacity)
        self.idleLimit = idleLimit
    }

    var count: Int { entries.count }

    /// Stores `value`; returns how many entries were dropped to make room
    /// (or because they had idled too long). An entry already under `key`
    /// is replaced.
    @discardableResult
    mutating func insert(_ value: Value, for key: SASLExchangeKey, now: Double) -> Int {
        var dropped = expire(now: now)
        if entries.updateValue(Entry(value: value, lastUsed: now), forKey: key) != nil { dropped += 1 }
        while entries.count > capacity, let oldest = entries.min(by: { $0.value.lastUsed < $1.value.lastUsed })?.key {
            entries.removeValue(forKey: oldest)
            dropped += 1
        }
        return dropped
    }

    /// The live value under `key`, marked as used now; nil if there is
    /// none or it idled too long (it is then dropped).
    mutating func use(_ key: SASLExchangeKey, now: Double) -> Value? {
        guard let entry = entries[key] else { return nil }
        guard now - entry.lastUsed <= idleLimit else {
            entries.removeValue(forKey: key)
            return nil
        }
        entries[key]?.lastUsed = now
        return entry.value
    }

    @discardableResult
    mutating func remove(_ key: SASLExchangeKey) -> Value? {
        entries.removeValue(forKey: key)?.value
    }

    /// Drops every entry idle longer than `idleLimit`; returns how many.
    @discardableResult
    mutating func expire(now: Double) -> Int {
        let before = entries.count
        entries = entries.filter { now - $0.value.lastUsed <= idleLimit }
        return before - entries.count
    }

    func contains(_ key: SASLExchangeKey) -> Bool { entries[key] != nil }
}
