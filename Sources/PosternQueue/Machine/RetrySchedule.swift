/// Retry delays after the nth deferral: `QueueRetryMinimum` (5 minutes),
/// doubling up to `QueueRetryMaximum` (an hour), as Postfix's backoff does.
enum RetrySchedule {
    static func delay(afterAttempts attempts: Int32, minimum: Int, maximum: Int) -> Int64 {
        var delay = Int64(max(minimum, 1))
        for _ in 1..<max(Int(attempts), 1) where delay < Int64(maximum) { delay *= 2 }
        return min(delay, Int64(max(maximum, minimum)))
    }
}

/// A duration as a bounce states it: "5 days", "4 hours", "90 seconds".
enum ConfigDuration {
    static func spoken(_ seconds: Int) -> String {
        for (unit, name) in [(86_400, "day"), (3_600, "hour"), (60, "minute")]
        where seconds >= unit && seconds % unit == 0 {
            let n = seconds / unit
            return "\(n) \(name)\(n == 1 ? "" : "s")"
        }
        return "\(seconds) second\(seconds == 1 ? "" : "s")"
    }
}
