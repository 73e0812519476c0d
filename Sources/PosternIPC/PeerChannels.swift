import NIOConcurrencyHelpers
import PosternCore

/// The current channel to each peer role of a process. The master hands
/// over a new channel when a peer restarts; the new one replaces the old,
/// which is shut down (its pending requests fail and are retried).
public final class PeerChannels: Sendable {
    private let channels = NIOLockedValueBox<[Role: IPCChannel]>([:])

    public init() {}

    public func replace(_ role: Role, with channel: IPCChannel) {
        let old = channels.withLockedValue { channels -> IPCChannel? in
            defer { channels[role] = channel }
            return channels[role]
        }
        old?.shutdown()
    }

    /// Forgets a channel that closed, unless it was already replaced.
    public func remove(_ channel: IPCChannel) {
        channels.withLockedValue { channels in
            if channels[channel.peer] === channel { channels[channel.peer] = nil }
        }
    }

    /// The channel to `role`, if one is attached and still open: a peer
    /// that died leaves its channel closed until the master hands over the
    /// new one, and asking a closed channel only fails.
    public func channel(_ role: Role) -> IPCChannel? {
        channels.withLockedValue { $0[role] }.flatMap { $0.closed ? nil : $0 }
    }
}
