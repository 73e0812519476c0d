import Glibc
import PosternCore
import PosternIPC

extension QueueService {
    /// Hands every due message to its delivery processes — local recipients
    /// to `local`, the others to `relay` — within the bound on deliveries in
    /// flight. Runs on `state`.
    func schedule() {
        guard !draining else { return }
        let now = Int64(time(nil))
        for (id, envelope) in messages where inFlight[id] == nil && !notifying.contains(id) && !envelope.held {
            if now >= envelope.arrival + Int64(config.queueReturn) {
                expire(envelope)
                continue
            }
            if config.queueWarn > 0 && !envelope.warned && now >= envelope.arrival + Int64(config.queueWarn) {
                warnDelayed(envelope)
            }
            guard envelope.nextAttempt <= now else { continue }
            if inFlight.count >= Self.maxInFlight { return }
            dispatch(envelope)
        }
    }

    /// QueueReturn has passed: every recipient still pending fails, with
    /// the last reason it was deferred, and the sender is told.
    private func expire(_ envelope: Envelope) {
        var expired = envelope
        let age = ConfigDuration.spoken(config.queueReturn)
        for i in expired.recipients.indices where expired.recipients[i].state == .pending {
            let last = expired.recipients[i].lastResult
            expired.recipients[i].state = .failed
            expired.recipients[i].lastResult =
                "4.4.7 Message could not be delivered for \(age)" + (last.isEmpty ? "" : ": \(last)")
            logger.info(
                "to=<\(expired.recipients[i].address)>, status=expired (\(expired.recipients[i].lastResult))",
                metadata: ["qid": "\(envelope.queueID)"])
        }
        finish(expired)
    }

    private func dispatch(_ envelope: Envelope) {
        var envelope = envelope
        settleDuplicates(&envelope)
        let pending = envelope.recipients.enumerated().filter { DuplicateRecipients.isDeliverable($0.element) }
        guard !pending.isEmpty else {
            finish(envelope)
            return
        }
        let local = pending.filter { !$0.element.isRemote }
        let remote = pending.filter { $0.element.isRemote }
        var parts: [(Role, [(offset: Int, element: Recipient)])] = []
        // Per transport: a slow relay fills its share, never local's.
        if !local.isEmpty, peers.channel(.local) != nil, transportLoad[.local, default: 0] < Self.maxPerTransport {
            parts.append((.local, local))
        }
        if !remote.isEmpty, peers.channel(.relay) != nil, transportLoad[.relay, default: 0] < Self.maxPerTransport {
            parts.append((.relay, remote))
        }
        guard !parts.isEmpty else { return }  // no delivery process yet: the next tick
        let fd: Int32
        do {
            fd = try spool.openDataReadOnly(envelope.queueID)
        } catch {
            logger.error("cannot open message data: \(error); removing it", metadata: ["qid": "\(envelope.queueID)"])
            messages[envelope.queueID] = nil
            spool.remove(envelope.queueID)
            return
        }
        defer { close(fd) }
        var flight = InFlight(parts: parts.count)
        // Recipients whose delivery process is not attached yet go again at
        // the next tick, not after a retry delay they did not earn.
        flight.soon = parts.count < [local, remote].filter { !$0.isEmpty }.count
        inFlight[envelope.queueID] = flight
        let doubtful = maybeDelivered[envelope.queueID] ?? []
        for (role, recipients) in parts {
            guard let channel = peers.channel(role) else { continue }
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
            channel.request(.deliver(job), descriptors: [fd]) { [self] result in
                state.async { self.partDone(envelope.queueID, role: role, job: job, result) }
            }
        }
    }

    /// One delivery process answered (or went away): record its outcomes;
    /// when every part is in, settle the message.
    private func partDone(_ id: QueueID, role: Role, job: DeliveryJob, _ result: Result<Frame, IPCError>) {
        transportLoad[role] = max(0, transportLoad[role, default: 0] - 1)
        guard var flight = inFlight[id] else { return }
        let outcomes: [RecipientOutcome]
        switch result {
        case .success(let frame):
            switch frame.message {
            case .deliveryResult(let rid, let list) where rid == id:
                outcomes = list
            case .rejected(let status):
                outcomes = job.recipients.map {
                    RecipientOutcome(index: $0.index, status: .deferred, text: "\(status.enhanced) \(status.text)")
                }
            default:
                outcomes = job.recipients.map {
                    RecipientOutcome(index: $0.index, status: .deferred, text: "4.3.0 bad answer from \(role.rawValue)")
                }
            }
        case .failure:
            // The process went away, perhaps after it delivered: retry soon,
            // once a new one is attached, looking for that copy first.
            outcomes = job.recipients.map {
                RecipientOutcome(
                    index: $0.index, status: .deferred, text: "4.3.0 \(role.rawValue) restarted", interrupted: true)
            }
            flight.soon = true
        }
        flight.outcomes.append(contentsOf: outcomes.map { ($0, role, Set(job.recipients.map(\.index))) })
        flight.parts -= 1
        inFlight[id] = flight.parts == 0 ? nil : flight
        if flight.parts == 0 { routeExpansions(id, flight) }
    }

    func settle(_ id: QueueID, _ flight: InFlight, refusals: [String: String] = [:]) {
        guard var envelope = messages[id] else { return }
        var expanded = false
        for (outcome, role, asked) in flight.outcomes {
            let i = Int(outcome.index)
            // Only recipients this part was asked about, and only once.
            guard asked.contains(outcome.index), envelope.recipients.indices.contains(i),
                envelope.recipients[i].state == .pending
            else { continue }
            let address = envelope.recipients[i].address
            envelope.recipients[i].lastResult = outcome.text
            noteDoubt(id, outcome)
            let relay = role == .local ? "local" : "relay"
            switch outcome.status {
            case .delivered:
                envelope.recipients[i].state = .delivered
                // The next hop reports success now, if it was asked for.
                if outcome.notifyHandedOn { envelope.recipients[i].notify = .never }
                logger.info(
                    "to=<\(address)>, relay=\(relay), status=sent (\(outcome.text))", metadata: ["qid": "\(id)"])
            case .deferred:
                logger.info(
                    "to=<\(address)>, relay=\(relay), status=deferred (\(outcome.text))", metadata: ["qid": "\(id)"])
            case .failed:
                envelope.recipients[i].state = .failed
                logger.info(
                    "to=<\(address)>, relay=\(relay), status=bounced (\(outcome.text))", metadata: ["qid": "\(id)"])
            case .expanded:
                let (added, refused) = RecipientExpansion.add(
                    outcome.expansion, parent: i, refusals: refusals, to: &envelope)
                envelope.recipients[i].state = .delivered
                envelope.recipients[i].lastResult = "\(DSNReport.expandedResultPrefix) (\(outcome.text))"
                expanded = expanded || added > 0
                let also = refused.isEmpty ? "" : ", refused: \(refused.joined(separator: " "))"
                logger.info(
                    "to=<\(address)>, relay=\(relay), status=expanded (\(outcome.text); \(added) new\(also))",
                    metadata: ["qid": "\(id)"])
            }
        }
        settleDuplicates(&envelope)
        if envelope.recipients.allSatisfy({ $0.state != .pending }) {
            finish(envelope)
            return
        }
        let now = Int64(time(nil))
        if flight.soon || expanded || flight.outcomes.contains(where: { $0.0.interrupted }) {
            envelope.nextAttempt = now + 1
        } else {
            envelope.attempts += 1
            envelope.nextAttempt =
                now
                + RetrySchedule.delay(
                    afterAttempts: envelope.attempts, minimum: config.queueRetryMinimum,
                    maximum: config.queueRetryMaximum)
        }
        messages[id] = envelope
        persist(envelope, durable: false)
        reportFailuresNow(envelope)
    }

    /// Duplicates whose primary has an outcome take it (and are logged
    /// with it, so that each address the client gave has its line).
    func settleDuplicates(_ envelope: inout Envelope) {
        for i in DuplicateRecipients.settle(&envelope) {
            let r = envelope.recipients[i]
            let primary = envelope.recipients[r.duplicateOf ?? i].address
            let status = r.state == .failed ? "bounced" : "sent"
            logger.info(
                "to=<\(r.address)>, status=\(status) (same delivery as <\(primary)>: \(r.lastResult))",
                metadata: ["qid": "\(envelope.queueID)"])
        }
    }

    /// Every recipient has a final state: the sender is told of failures
    /// (and of successes it asked about), then the message leaves the queue.
    /// The notice is durable before the message is removed.
    func finish(_ envelope: Envelope) {
        let id = envelope.queueID
        guard !notifying.contains(id) else { return }
        notifying.insert(id)
        messages[id] = envelope
        sendFinalNotices(envelope) { [self] outcome in
            notifying.remove(id)
            switch outcome {
            case .done(let reported):
                remove(reported)
            case .later(let reported):
                // Kept, with what was reported so far; the next tick tries again.
                messages[id] = reported
                persist(reported, durable: true)
            }
        }
    }

    /// An interrupted attempt leaves the recipient in doubt; any answer
    /// from a delivery that ran to its end settles the doubt.
    private func noteDoubt(_ id: QueueID, _ outcome: RecipientOutcome) {
        if outcome.interrupted {
            maybeDelivered[id, default: []].insert(outcome.index)
        } else if maybeDelivered[id]?.remove(outcome.index) != nil, maybeDelivered[id]?.isEmpty == true {
            maybeDelivered[id] = nil
        }
    }

    private func remove(_ envelope: Envelope) {
        maybeDelivered[envelope.queueID] = nil
        messages[envelope.queueID] = nil
        spool.remove(envelope.queueID)
        logger.info("removed", metadata: ["qid": "\(envelope.queueID)"])
    }
}

/// The deliveries of one message that are under way.
struct InFlight {
    var parts: Int
    var outcomes: [(RecipientOutcome, Role, Set<UInt32>)] = []
    /// A delivery process went away: try again in a second, not on the
    /// retry schedule.
    var soon = false

    init(parts: Int) { self.parts = parts }
}
