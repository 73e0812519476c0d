/// Free space in the spool, as Postfix's queue_minfree and Sendmail's
/// MinFreeBlocks keep it: measured every second by the queue, which alone
/// sees the spool, and told to the listener when it changes, so that MAIL
/// is refused with 452 4.3.1 while space is short — before a client sends
/// a message that could not be stored — and so that the queue refuses to
/// open a spool file then too.
extension QueueMachine {
    /// From the timer, and when a listener attaches (`forceReport`).
    mutating func spoolSpaceMeasured(_ free: UInt64, forceReport: Bool, _ actions: inout [QueueAction]) {
        let minimum = settings.minFree
        let wasShort = spoolFree < minimum
        spoolFree = free
        if free < minimum && !wasShort {
            actions.append(
                .log(
                    .error(
                        "spool file system short of space: \(free / 1024) KiB free, QueueMinFree is \(minimum / 1024) KiB; refusing mail"
                    )))
        } else if free >= minimum && wasShort {
            actions.append(.log(.info("spool file system has \(free / 1024) KiB free again; accepting mail")))
        }
        // A 1 MiB change (or crossing the minimum) is worth a datagram.
        let change = free > reportedSpoolFree ? free - reportedSpoolFree : reportedSpoolFree - free
        guard forceReport || change >= 1 << 20 || (free < minimum) != (reportedSpoolFree < minimum) else { return }
        guard peers[.listener] != nil else { return }
        actions.append(.reportSpoolSpace(freeBytes: free))
    }

    /// Whether a new message may be opened now.
    var spoolHasRoom: Bool { spoolFree >= settings.minFree }
}
