import PosternCore
import PosternIPC

/// Free space in the spool, as Postfix's queue_minfree and Sendmail's
/// MinFreeBlocks keep it: measured every second by the queue, which alone
/// sees the spool, and told to the listener when it changes, so that MAIL
/// is refused with 452 4.3.1 while space is short — before a client sends
/// a message that could not be stored — and so that the queue refuses to
/// open a spool file then too.
extension QueueService {
    static let insufficientStorage = ReplyStatus(code: 452, enhanced: "4.3.1", text: "Insufficient system storage")

    /// Runs on `state`, from the timer and when a listener attaches.
    func measureSpoolSpace(forceReport: Bool = false) {
        guard let free = spool.freeBytes() else { return }
        let minimum = UInt64(max(config.queueMinFree, 0))
        let wasShort = spoolFree < minimum
        spoolFree = free
        if free < minimum && !wasShort {
            logger.error(
                "spool file system short of space: \(free / 1024) KiB free, QueueMinFree is \(minimum / 1024) KiB; refusing mail"
            )
        } else if free >= minimum && wasShort {
            logger.info("spool file system has \(free / 1024) KiB free again; accepting mail")
        }
        // A 1 MiB change (or crossing the minimum) is worth a datagram.
        let change = free > reportedSpoolFree ? free - reportedSpoolFree : reportedSpoolFree - free
        guard forceReport || change >= 1 << 20 || (free < minimum) != (reportedSpoolFree < minimum) else { return }
        guard let listener = peers.channel(.listener) else { return }
        if (try? listener.send(.spoolSpace(freeBytes: free))) != nil { reportedSpoolFree = free }
    }

    /// Whether a new message may be opened now.
    var spoolHasRoom: Bool { spoolFree >= UInt64(max(config.queueMinFree, 0)) }
}
