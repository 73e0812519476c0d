import PosternCore
import PosternIPC

/// Which messages go now: every due message is handed to its delivery
/// processes — local recipients to `local`, the others to `relay` — within
/// the bounds on deliveries in flight; messages past `Timeout.queuereturn`
/// expire, and those past `Timeout.queuewarn` get their delay warning.
extension QueueMachine {
    /// On every tick, after a commit batch, when `local` attaches, and on
    /// a flush or release. Held messages, and messages in flight or being
    /// notified about, are left alone.
    mutating func schedule(now: Int64, _ actions: inout [QueueAction]) {
        guard !draining else { return }
        for (id, envelope) in messages where inFlight[id] == nil && !notifying.contains(id) && !envelope.held {
            if now >= envelope.arrival + Int64(settings.queueReturn) {
                expire(envelope, now: now, &actions)
                continue
            }
            if settings.queueWarn > 0 && !envelope.warned && now >= envelope.arrival + Int64(settings.queueWarn) {
                warnDelayed(envelope, now: now, &actions)
            }
            guard envelope.nextAttempt <= now else { continue }
            if inFlight.count >= limits.maxInFlight { return }
            dispatch(envelope, now: now, &actions)
        }
    }

    /// QueueReturn has passed: every recipient still pending fails, with
    /// the last reason it was deferred, and the sender is told.
    private mutating func expire(_ envelope: Envelope, now: Int64, _ actions: inout [QueueAction]) {
        var expired = envelope
        let age = ConfigDuration.spoken(settings.queueReturn)
        for i in expired.recipients.indices where expired.recipients[i].state == .pending {
            let last = expired.recipients[i].lastResult
            expired.recipients[i].state = .failed
            expired.recipients[i].lastResult =
                "4.4.7 Message could not be delivered for \(age)" + (last.isEmpty ? "" : ": \(last)")
            actions.append(
                .log(
                    .info(
                        "to=<\(expired.recipients[i].address)>, status=expired (\(expired.recipients[i].lastResult))",
                        envelope.queueID)))
        }
        finish(expired, now: now, &actions)
    }

    /// One part per transport that has recipients, a process attached and
    /// room under its cap. Recipients riding on another's delivery
    /// (`duplicate-of`) are not handed over; a message with nothing left
    /// to deliver is finished instead.
    private mutating func dispatch(_ envelope: Envelope, now: Int64, _ actions: inout [QueueAction]) {
        var envelope = envelope
        settleDuplicates(&envelope, &actions)
        let pending = envelope.recipients.enumerated().filter { DuplicateRecipients.isDeliverable($0.element) }
        guard !pending.isEmpty else {
            finish(envelope, now: now, &actions)
            return
        }
        let local = pending.filter { !$0.element.isRemote }
        let remote = pending.filter { $0.element.isRemote }
        var parts: [(Role, [(offset: Int, element: Recipient)])] = []
        // Per transport: a slow relay fills its share, never local's.
        if !local.isEmpty, peers[.local] != nil, transportLoad[.local, default: 0] < limits.maxPerTransport {
            parts.append((.local, local))
        }
        if !remote.isEmpty, peers[.relay] != nil, transportLoad[.relay, default: 0] < limits.maxPerTransport {
            parts.append((.relay, remote))
        }
        guard !parts.isEmpty else { return }  // no delivery process yet: the next tick
        var flight = InFlight()
        // Recipients whose delivery process is not attached yet go again at
        // the next tick, not after a retry delay they did not earn.
        flight.soon = parts.count < [local, remote].filter { !$0.isEmpty }.count
        let doubtful = maybeDelivered[envelope.queueID] ?? []
        var order = DispatchOrder(queueID: envelope.queueID, parts: [])
        for (role, recipients) in parts {
            transportLoad[role, default: 0] += 1
            let job = DeliveryJob(
                queueID: envelope.queueID, sender: envelope.sender, arrival: envelope.arrival,
                recipients: recipients.map {
                    DeliveryRecipient(
                        index: UInt32($0.offset), address: $0.element.address, localUser: $0.element.localUser,
                        target: $0.element.target, originalRecipient: $0.element.originalRecipient,
                        notify: $0.element.notify, maybeDelivered: doubtful.contains(UInt32($0.offset)))
                }, size: envelope.size, bodyType: envelope.bodyType, smtputf8: envelope.smtputf8,
                dsnReturn: envelope.dsnReturn, envelopeID: envelope.envelopeID)
            flight.waiting[role] = job.recipients.map(\.index)
            order.parts.append(DeliveryPart(role: role, job: job))
        }
        inFlight[envelope.queueID] = flight
        actions.append(.dispatch(order))
    }

    /// The data file is gone or unreadable: nothing can ever deliver the
    /// message, so it leaves the queue (its parts were never sent).
    mutating func messageDataUnreadable(_ id: QueueID, _ error: SpoolError, _ actions: inout [QueueAction]) {
        if let flight = inFlight.removeValue(forKey: id) {
            for role in flight.waiting.keys { transportLoad[role] = max(0, transportLoad[role, default: 0] - 1) }
        }
        actions.append(.log(.error("cannot open message data: \(error); removing it", id)))
        messages[id] = nil
        actions.append(.remove(id))
    }
}
