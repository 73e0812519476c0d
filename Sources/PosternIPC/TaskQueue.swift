import Glibc

/// Work queues on plain threads. libdispatch is not used in the chrooted
/// roles: its worker-pool monitor reads /proc/self/task, which does not
/// exist inside a jail, and traps (SIGILL) the moment the pool is busy.
///
/// `TaskQueue(threads: 1)` runs its work in order, one item at a time (a
/// serial queue that owns a role's state); more threads run items
/// concurrently. `after(_:)` runs an item no earlier than the delay.
public final class TaskQueue: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    private var condition = pthread_cond_t()
    private var ready: [() -> Void] = []
    private var readyHead = 0
    /// Delayed items, kept sorted by due time (few at once: timers).
    private var delayed: [(due: Double, work: () -> Void)] = []

    public init(threads: Int = 1) {
        pthread_mutex_init(&mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(&condition, &attributes)
        pthread_condattr_destroy(&attributes)
        for _ in 0..<max(1, threads) {
            OSThread.start { [self] in run() }
        }
    }

    public func async(_ work: @escaping () -> Void) {
        pthread_mutex_lock(&mutex)
        ready.append(work)
        pthread_cond_signal(&condition)
        pthread_mutex_unlock(&mutex)
    }

    public func after(_ seconds: Double, _ work: @escaping () -> Void) {
        let due = Self.now() + seconds
        pthread_mutex_lock(&mutex)
        let index = delayed.firstIndex { $0.due > due } ?? delayed.endIndex
        delayed.insert((due, work), at: index)
        pthread_cond_broadcast(&condition)
        pthread_mutex_unlock(&mutex)
    }

    /// Runs `work` every `seconds`, first after one interval, forever.
    public func every(_ seconds: Double, _ work: @escaping () -> Void) {
        after(seconds) { [self] in
            work()
            every(seconds, work)
        }
    }

    private func run() {
        while true {
            pthread_mutex_lock(&mutex)
            var item: (() -> Void)?
            while item == nil {
                let now = Self.now()
                if let first = delayed.first, first.due <= now {
                    item = delayed.removeFirst().work
                } else if readyHead < ready.count {
                    item = ready[readyHead]
                    readyHead += 1
                    if readyHead > 1024 && readyHead * 2 > ready.count {
                        ready.removeFirst(readyHead)
                        readyHead = 0
                    }
                } else if let first = delayed.first {
                    var deadline = Self.timespec(first.due)
                    pthread_cond_timedwait(&condition, &mutex, &deadline)
                } else {
                    pthread_cond_wait(&condition, &mutex)
                }
            }
            pthread_mutex_unlock(&mutex)
            item?()
        }
    }

    private static func now() -> Double {
        var ts = Glibc.timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    private static func timespec(_ seconds: Double) -> Glibc.timespec {
        let whole = seconds.rounded(.down)
        return Glibc.timespec(tv_sec: Int(whole), tv_nsec: Int((seconds - whole) * 1e9))
    }
}
