import Glibc
import NIOConcurrencyHelpers
import PosternCore

/// The one thread per process that fails requests whose deadline has
/// passed (`IPCChannel.request(timeout:)`), started by the first request
/// with a deadline. A quarter-second tick is plenty for deadlines of
/// seconds; it looks at the channels that ever asked with a deadline (a
/// handful per process) until they close.
final class IPCDeadlines: Sendable {
    static let shared = IPCDeadlines()
    static let tick = 0.25

    private struct State {
        var channels: [ObjectIdentifier: IPCChannel] = [:]
        var started = false
    }
    private let state = NIOLockedValueBox(State())

    func watch(_ channel: IPCChannel) {
        let start: Bool = state.withLockedValue { state in
            state.channels[ObjectIdentifier(channel)] = channel
            defer { state.started = true }
            return !state.started
        }
        if start { OSThread.start { [self] in run() } }
    }

    private func run() {
        while true {
            usleep(UInt32(Self.tick * 1_000_000))
            let watched = state.withLockedValue { Array($0.channels.values) }
            let now = MonotonicClock.now()
            let closed = watched.filter { !$0.expireOverdue(now: now) }
            state.withLockedValue { state in
                for channel in closed { state.channels[ObjectIdentifier(channel)] = nil }
            }
        }
    }
}

/// Request ids given up on, remembered so that their late answers are
/// recognised; at most `limit`, the oldest dropped first.
struct ExpiredRequests {
    static let limit = 4096
    private var set: Set<UInt32> = []
    private var order: [UInt32] = []
    private var head = 0

    mutating func insert(_ id: UInt32) {
        guard set.insert(id).inserted else { return }
        order.append(id)
        if set.count > Self.limit {
            set.remove(order[head])
            head += 1
            if head > Self.limit {
                order.removeFirst(head)
                head = 0
            }
        }
    }

    /// Whether `id` was there (it is forgotten now).
    mutating func remove(_ id: UInt32) -> Bool {
        set.remove(id) != nil
    }
}
