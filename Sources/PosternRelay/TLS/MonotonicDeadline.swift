import PosternCore

/// A point on the monotonic clock by which an operation must be done. A
/// deadline rather than a timeout so that one limit covers a whole operation
/// however many times it has to wait: a server that trickles one byte at a
/// time cannot stretch a handshake past it.
public struct MonotonicDeadline: Sendable, Equatable, Comparable {
    /// Seconds on `MonotonicClock`.
    public let instant: Double

    public init(instant: Double) {
        self.instant = instant
    }

    /// `seconds` from now.
    public static func after(seconds: Double) -> MonotonicDeadline {
        MonotonicDeadline(instant: MonotonicClock.now() + seconds)
    }

    public var hasPassed: Bool { MonotonicClock.now() >= instant }

    /// The earlier of this deadline and `seconds` from now: a best-effort
    /// step (a close_notify, an alert) must not use up a caller's whole allowance.
    public func capped(atSecondsFromNow seconds: Double) -> MonotonicDeadline {
        min(self, .after(seconds: seconds))
    }

    /// Milliseconds left for poll(2), rounded up so that a wait never ends
    /// before the deadline; nil once it has passed.
    var remainingMilliseconds: Int32? {
        let left = instant - MonotonicClock.now()
        guard left > 0 else { return nil }
        let milliseconds = (left * 1000).rounded(.up)
        return milliseconds >= Double(Int32.max) ? Int32.max : Int32(milliseconds)
    }

    public static func < (lhs: MonotonicDeadline, rhs: MonotonicDeadline) -> Bool { lhs.instant < rhs.instant }
}
