import PosternCore
import PosternIPC

/// The administrator's commands (`postern queue …`, `mailq`), decided
/// here and answered with text.
///
/// Who may do what is settled by which socket the client could open (the
/// file system checked it): the admin socket allows everything; the public
/// one the listing unless `restrictmailq`, a queue run unless
/// `restrictqrun`. `who` (the peer's uid and pid) goes into the log.
extension QueueMachine {
    mutating func execute(
        _ command: QueueCommand, access: ControlSocketAccess, who: String, now: Int64, _ actions: inout [QueueAction]
    ) -> String {
        switch (command, access) {
        case (.invalid(let reason), _):
            return "error: \(reason)\n"
        case (.list, .everyone) where settings.restrictMailq, (.count, .everyone) where settings.restrictMailq:
            return refuse(command, who: who, why: "restrictmailq", &actions)
        case (.flush, .everyone) where settings.restrictQrun, (.flushWhere, .everyone) where settings.restrictQrun:
            return refuse(command, who: who, why: "restrictqrun", &actions)
        case (.show, .everyone), (.hold, .everyone), (.release, .everyone), (.delete, .everyone):
            return refuse(command, who: who, why: "queue administrators only", &actions)
        case (.list, _):
            return QueueListing.mailq(
                messages.values.sorted { $0.arrival < $1.arrival }, inFlight: Set(inFlight.keys))
        case (.count, _):
            let held = messages.values.filter(\.held).count
            let pending = messages.values.reduce(0) { $0 + $1.recipients.filter { $0.state == .pending }.count }
            return "\(messages.count) messages, \(pending) recipients pending, \(held) held\n"
        case (.show(let id), _):
            guard let envelope = messages[id] else { return "error: \(id) is not in the queue\n" }
            return QueueListing.details(envelope)
        case (.flush(let id), _):
            actions.append(.log(.info("control: flush \(id.map(\.value) ?? "all") by \(who)")))
            var count = 0
            for (key, var envelope) in messages where (id == nil || key == id) && !envelope.held {
                envelope.nextAttempt = 0
                messages[key] = envelope
                count += 1
            }
            if let id, messages[id] == nil { return "error: \(id) is not in the queue\n" }
            schedule(now: now, &actions)
            return "flushed \(count) message\(count == 1 ? "" : "s")\n"
        case (.flushWhere(let selection), _):
            actions.append(.log(.info("control: selective flush by \(who)")))
            var count = 0
            for (key, var envelope) in messages where !envelope.held && selection.matches(envelope) {
                envelope.nextAttempt = 0
                messages[key] = envelope
                count += 1
            }
            schedule(now: now, &actions)
            return "flushed \(count) message\(count == 1 ? "" : "s")\n"
        case (.hold(let id), _), (.release(let id), _):
            guard var envelope = messages[id] else { return "error: \(id) is not in the queue\n" }
            let hold: Bool
            if case .hold = command { hold = true } else { hold = false }
            envelope.held = hold
            if !hold { envelope.nextAttempt = 0 }
            messages[id] = envelope
            actions.append(.persist(envelope, durable: true))
            actions.append(.log(.info("control: \(hold ? "hold" : "release") by \(who)", id)))
            if !hold { schedule(now: now, &actions) }
            return "\(id) \(hold ? "held" : "released")\n"
        case (.delete(let id), _):
            guard messages[id] != nil else { return "error: \(id) is not in the queue\n" }
            guard inFlight[id] == nil, !notifying.contains(id) else {
                return "error: \(id) is being delivered; try again\n"
            }
            messages[id] = nil
            maybeDelivered[id] = nil
            actions.append(.remove(id))
            actions.append(.log(.info("control: deleted by \(who), no notice sent", id)))
            return "\(id) deleted\n"
        }
    }

    /// A command the public socket may not run: answered, and logged with
    /// who asked (an administrator reviewing the log sees the attempts).
    private func refuse(_ command: QueueCommand, who: String, why: String, _ actions: inout [QueueAction]) -> String {
        actions.append(.log(.warning("control: refused \(command.verb) by \(who) (\(why))")))
        return "error: permission denied (\(why))\n"
    }
}
