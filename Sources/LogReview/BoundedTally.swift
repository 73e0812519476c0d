/// Counts by key in bounded memory, whatever the log's size: past
/// `capacity` keys the ones seen least are forgotten (lossy counting), so
/// the counts of rare keys may be low and the report says `approximate`.
/// The frequent keys, the ones a "top" list shows, survive.
public struct BoundedTally: Sendable, Equatable {
    public private(set) var counts: [String: Int] = [:]
    public private(set) var approximate = false
    public let capacity: Int

    public init(capacity: Int = 20_000) { self.capacity = capacity }

    public mutating func add(_ key: String, _ n: Int = 1) {
        counts[key, default: 0] += n
        guard counts.count > capacity else { return }
        approximate = true
        // Forget the rarest half-ish: every key at or below the median count.
        let sorted = counts.values.sorted()
        let floor = sorted[sorted.count / 2]
        counts = counts.filter { $0.value > floor }
    }

    /// The `n` most frequent, ties by key so the order is stable.
    public func top(_ n: Int) -> [KeyCount] {
        counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.prefix(n).map {
            KeyCount(key: $0.key, count: $0.value)
        }
    }

    public var total: Int { counts.values.reduce(0, +) }
}

/// One row of a top list.
public struct KeyCount: Codable, Equatable, Sendable {
    public var key: String
    public var count: Int
}
