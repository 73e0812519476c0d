import NIOCore
import NIOPosix

/// Where a role's work runs off the IPC reader threads: SwiftNIO's, not
/// libdispatch's (whose worker-pool monitor reads /proc/self/task, which
/// does not exist inside a jail, and traps the moment the pool is busy).
///
/// `TaskQueue(threads: 1)` is one event loop: its work runs in order, one
/// item at a time — the serial queue that owns a role's state. More
/// threads are an `NIOThreadPool`, whose items run concurrently (the
/// lookup's DNS checks). `after` and `every` run on the loop's timers.
public final class TaskQueue: Sendable {
    private let group: MultiThreadedEventLoopGroup
    private let loop: any EventLoop
    private let pool: NIOThreadPool?

    public init(threads: Int = 1) {
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        loop = group.next()
        if threads > 1 {
            let pool = NIOThreadPool(numberOfThreads: threads)
            pool.start()
            self.pool = pool
        } else {
            pool = nil
        }
    }

    public func async(_ work: @escaping @Sendable () -> Void) {
        if let pool {
            pool.submit { _ in work() }
        } else {
            loop.execute(work)
        }
    }

    /// Runs `work` on the loop and waits for its value (a control command
    /// answered from the state the loop owns). Never call it on the loop.
    public func run<T: Sendable>(_ work: @escaping @Sendable () -> T) -> T {
        do {
            return try loop.submit(work).wait()
        } catch {
            // Only a loop that was shut down fails a submitted task, and
            // this one lives as long as the process.
            fatalError("TaskQueue's event loop is gone: \(error)")
        }
    }

    /// Runs `work` no earlier than `seconds` from now.
    public func after(_ seconds: Double, _ work: @escaping @Sendable () -> Void) {
        loop.scheduleTask(in: .nanoseconds(Int64(seconds * 1e9))) { [self] in async(work) }
    }

    /// Runs `work` every `seconds`, first after one interval, forever.
    public func every(_ seconds: Double, _ work: @escaping @Sendable () -> Void) {
        let interval = TimeAmount.nanoseconds(Int64(seconds * 1e9))
        loop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { [self] _ in async(work) }
    }
}
