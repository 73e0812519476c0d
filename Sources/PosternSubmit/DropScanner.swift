import Glibc
import LocalSubmission
import PosternCore
import PosternIPC

/// Looks through the drop directory every few seconds, and at start: it
/// picks up what the command left while the daemon was down (or whose
/// command went away before asking), removes files that are not
/// submissions or were abandoned half-written, and keeps one user from
/// filling the disk while the daemon runs.
final class DropScanner: Sendable {
    static let interval = 5.0
    /// A file still being written after this long was abandoned.
    static let abandonedAfter: Int64 = 86_400
    /// A complete file younger than this is left to the command that
    /// wrote it, which is about to ask for it itself (and would otherwise
    /// find it gone).
    static let grace: Int64 = 10

    private let service: SubmitService
    private let queue = TaskQueue()

    init(service: SubmitService) {
        self.service = service
    }

    func start() {
        queue.async { [self] in scan() }
        queue.every(Self.interval) { [self] in scan() }
    }

    /// The master's health check is answered from the scan's own queue.
    func health(_ answer: @escaping @Sendable () -> Void) { queue.async(answer) }

    /// Bytes one uid may have waiting in the drop directory.
    static func perUserLimit(_ config: PosternConfig) -> Int64 { max(Int64(config.maxMessageSize) * 10, 64 << 20) }

    private func scan() {
        guard service.usersLoaded else { return }
        let entries = service.directory.scan()
        let now = Int64(time(nil))
        let plan = DropScanPlan.make(
            entries, now: now, perUserLimit: Self.perUserLimit(service.config), abandonedAfter: Self.abandonedAfter,
            grace: Self.grace)
        for (name, why) in plan.remove {
            service.logger.warning("submit: removed \(name) from the drop directory: \(why)")
            service.directory.remove(name)
        }
        let expiry = Int64(service.config.queueReturn)
        let modified = Dictionary(entries.map { ($0.name, $0.modified) }, uniquingKeysWith: { a, _ in a })
        for name in plan.pickUp {
            // Without the queue and the lookup every pickup would fail: the
            // rest wait for the next scan. (A recipient a map defers keeps
            // only its own file.)
            guard service.peersPresent else { break }
            let age = now - (modified[name] ?? now)
            _ = service.pickUp(name, caller: nil, expired: age > expiry)
        }
    }
}

/// What one scan does, decided from the listing alone (a pure function,
/// tested by itself).
struct DropScanPlan: Equatable {
    var remove: [(name: String, why: String)] = []
    var pickUp: [String] = []

    static func == (a: Self, b: Self) -> Bool {
        a.pickUp == b.pickUp && a.remove.map(\.name) == b.remove.map(\.name)
            && a.remove.map(\.why) == b.remove.map(\.why)
    }

    /// Oldest first. What is not a regular file (a link, a FIFO), a name
    /// that is not a drop file's, or one that names another
    /// uid than the file's owner, is removed; so is a half-written file
    /// older than `abandonedAfter`, and a user's newest files beyond
    /// `perUserLimit` bytes.
    static func make(
        _ entries: [DropDirectory.Entry], now: Int64, perUserLimit: Int64, abandonedAfter: Int64, grace: Int64 = 0
    ) -> DropScanPlan {
        var plan = DropScanPlan()
        var used: [UInt32: Int64] = [:]
        for entry in entries.sorted(by: { ($0.modified, $0.name) < ($1.modified, $1.name) }) {
            guard entry.regular else {
                plan.remove.append((entry.name, "not a regular file"))
                continue
            }
            guard let parsed = DropFileName(entry.name) else {
                plan.remove.append((entry.name, "not a drop file"))
                continue
            }
            guard parsed.uid == entry.uid else {
                plan.remove.append((entry.name, "owned by uid \(entry.uid), named for uid \(parsed.uid)"))
                continue
            }
            used[entry.uid, default: 0] += entry.size
            if used[entry.uid, default: 0] > perUserLimit {
                plan.remove.append((entry.name, "uid \(entry.uid) has more than \(perUserLimit) bytes waiting"))
                used[entry.uid, default: 0] -= entry.size
                continue
            }
            if entry.ready {
                if now - entry.modified >= grace { plan.pickUp.append(entry.name) }
            } else if now - entry.modified > abandonedAfter {
                plan.remove.append((entry.name, "abandoned while being written"))
            }
        }
        return plan
    }
}
