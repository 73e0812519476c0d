import Glibc

/// Seconds on the monotonic clock: timeouts and backoff must not follow
/// wall-clock jumps.
public enum MonotonicClock {
    public static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}
