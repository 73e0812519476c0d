import Glibc

/// A plain OS thread for a blocking loop (an IPC reader, a signal waiter).
/// Foundation's Thread is avoided so that the chrooted roles stay small.
public enum OSThread {
    private final class Box {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }

    public static func start(_ body: @escaping @Sendable () -> Void) {
        let box = Unmanaged.passRetained(Box(body)).toOpaque()
        var thread = pthread_t()
        let rc = pthread_create(
            &thread, nil,
            { raw in
                guard let raw else { return nil }
                let box = Unmanaged<Box>.fromOpaque(raw).takeRetainedValue()
                box.body()
                return nil
            }, box)
        if rc != 0 {
            Unmanaged<Box>.fromOpaque(box).release()
            fatalError("pthread_create failed: \(rc)")
        }
        pthread_detach(thread)
    }
}

/// A mutex with a condition: threads that wait for a table to change (a
/// connection waiting for its destination's next message) sleep until it
/// does, instead of polling. (NIO's `ConditionLock` waits for one value;
/// this waits for any change, which is what "new work arrived" is.) The
/// pthread primitives are what make it safe to share.
public final class ConditionLock: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    private var condition = pthread_cond_t()

    public init() {
        pthread_mutex_init(&mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        // Deadlines are monotonic (MonotonicClock), so is the condition's clock.
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(&condition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(&condition)
        pthread_mutex_destroy(&mutex)
    }

    public func withLock<T>(_ body: () throws -> T) rethrows -> T {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return try body()
    }

    /// Runs `take` under the lock until it gives a value or the monotonic
    /// `deadline` (seconds) passes, sleeping between tries until `signal`.
    public func wait<T>(until deadline: Double, _ take: () -> T?) -> T? {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        while true {
            if let value = take() { return value }
            var now = timespec()
            clock_gettime(CLOCK_MONOTONIC, &now)
            let left = deadline - (Double(now.tv_sec) + Double(now.tv_nsec) / 1e9)
            if left <= 0 { return nil }
            let target = Double(now.tv_sec) + Double(now.tv_nsec) / 1e9 + min(left, 1)
            var until = timespec(tv_sec: Int(target), tv_nsec: Int((target - target.rounded(.down)) * 1e9))
            pthread_cond_timedwait(&condition, &mutex, &until)
        }
    }

    /// Wakes every waiter (call after changing what they wait for).
    public func signal() {
        pthread_mutex_lock(&mutex)
        pthread_cond_broadcast(&condition)
        pthread_mutex_unlock(&mutex)
    }
}
