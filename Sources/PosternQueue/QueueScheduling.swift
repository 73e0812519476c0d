import Glibc
import PosternCore
import PosternIPC

/// Retry delays after the nth deferral: minutes at first, growing to about
/// an hour, as Sendmail and Postfix do.
enum RetrySchedule {
    static func delay(afterAttempts attempts: Int32) -> Int64 {
        let steps: [Int64] = [300, 600, 1200, 2400, 3600]
        return steps[min(Int(max(attempts, 1)) - 1, steps.count - 1)]
    }
}

extension QueueService {
    /// Hands every due message to its delivery process, within the bound on
    /// deliveries in flight. Runs on `state`.
    func schedule() {
        guard !draining, let local = peers.channel(.local) else { return }
        let now = Int64(time(nil))
        for (id, envelope) in messages where !inFlight.contains(id) && envelope.nextAttempt <= now {
            if inFlight.count >= Self.maxInFlight { return }
            deliverLocally(envelope, over: local)
        }
    }

    private func deliverLocally(_ envelope: Envelope, over channel: IPCChannel) {
        let pending = envelope.recipients.enumerated().filter { $0.element.state == .pending }
        guard !pending.isEmpty else {
            finish(envelope)
            return
        }
        let fd: Int32
        do {
            fd = try spool.openDataReadOnly(envelope.queueID)
        } catch {
            logger.error("cannot open message data: \(error); removing it", metadata: ["qid": "\(envelope.queueID)"])
            messages[envelope.queueID] = nil
            spool.remove(envelope.queueID)
            return
        }
        let job = DeliveryJob(
            queueID: envelope.queueID, sender: envelope.sender, arrival: envelope.arrival,
            recipients: pending.map {
                DeliveryRecipient(
                    index: UInt32($0.offset), address: $0.element.address, localUser: $0.element.localUser)
            })
        inFlight.insert(envelope.queueID)
        channel.request(.deliver(job), descriptors: [fd]) { [self] result in
            state.async { self.delivered(envelope.queueID, result) }
        }
        close(fd)
    }

    private func delivered(_ id: QueueID, _ result: Result<Frame, IPCError>) {
        inFlight.remove(id)
        guard var envelope = messages[id] else { return }
        guard case .success(let frame) = result, case .deliveryResult(let rid, let outcomes) = frame.message, rid == id
        else {
            // The delivery process went away or answered nonsense: try again soon.
            if case .success(let frame) = result, case .rejected(let status) = frame.message {
                logger.warning("delivery refused: \(status.code) \(status.text)", metadata: ["qid": "\(id)"])
            }
            envelope.nextAttempt = Int64(time(nil)) + 1
            messages[id] = envelope
            return
        }
        for outcome in outcomes {
            let i = Int(outcome.index)
            guard envelope.recipients.indices.contains(i), envelope.recipients[i].state == .pending else { continue }
            let address = envelope.recipients[i].address
            envelope.recipients[i].lastResult = outcome.text
            switch outcome.status {
            case .delivered:
                envelope.recipients[i].state = .delivered
                logger.info("to=<\(address)>, relay=local, status=sent (\(outcome.text))", metadata: ["qid": "\(id)"])
            case .deferred:
                logger.info(
                    "to=<\(address)>, relay=local, status=deferred (\(outcome.text))", metadata: ["qid": "\(id)"])
            case .failed:
                envelope.recipients[i].state = .failed
                logger.info(
                    "to=<\(address)>, relay=local, status=bounced (\(outcome.text))", metadata: ["qid": "\(id)"])
            }
        }
        if envelope.recipients.allSatisfy({ $0.state != .pending }) {
            finish(envelope)
            return
        }
        envelope.attempts += 1
        envelope.nextAttempt = Int64(time(nil)) + RetrySchedule.delay(afterAttempts: envelope.attempts)
        messages[id] = envelope
        do {
            try spool.update(envelope, durable: false)
        } catch {
            logger.error("cannot update control file: \(error)", metadata: ["qid": "\(id)"])
        }
    }

    /// Every recipient has a final state: the message leaves the queue.
    private func finish(_ envelope: Envelope) {
        messages[envelope.queueID] = nil
        spool.remove(envelope.queueID)
        logger.info("removed", metadata: ["qid": "\(envelope.queueID)"])
    }
}
