import PosternCore
import PosternIPC

/// What a delivery attempt leaves: each recipient delivered, deferred,
/// bounced or expanded; the message finished, or rescheduled on the retry
/// schedule (or in a second, when the attempt was cut short).
extension QueueMachine {
    /// One delivery process answered (or went away): its outcomes are kept
    /// until every part is in, then the message settles.
    mutating func partFinished(
        _ id: QueueID, role: Role, _ answer: DeliveryAnswer, now: Int64, _ actions: inout [QueueAction]
    ) {
        transportLoad[role] = max(0, transportLoad[role, default: 0] - 1)
        guard var flight = inFlight[id], let asked = flight.waiting.removeValue(forKey: role) else { return }
        let outcomes: [RecipientOutcome]
        switch answer {
        case .outcomes(let list):
            outcomes = list
        case .rejected(let status):
            outcomes = asked.map {
                RecipientOutcome(index: $0, status: .deferred, text: "\(status.enhanced) \(status.text)")
            }
        case .nonsense:
            outcomes = asked.map {
                RecipientOutcome(index: $0, status: .deferred, text: "4.3.0 bad answer from \(role.rawValue)")
            }
        case .channelLost:
            // The process went away, perhaps after it delivered: retry soon,
            // once a new one is attached, looking for that copy first.
            outcomes = asked.map {
                RecipientOutcome(
                    index: $0, status: .deferred, text: "4.3.0 \(role.rawValue) restarted", interrupted: true)
            }
            flight.soon = true
        }
        let askedSet = Set(asked)
        flight.outcomes.append(contentsOf: outcomes.map { PartOutcome(outcome: $0, role: role, asked: askedSet) })
        guard flight.waiting.isEmpty else {
            inFlight[id] = flight
            return
        }
        inFlight[id] = nil
        routeExpansions(id, flight, now: now, &actions)
    }

    /// Records every outcome of an attempt; `refusals` are the expansion
    /// members the lookup refused, by address.
    mutating func settle(
        _ id: QueueID, _ flight: InFlight, refusals: [String: String] = [:], now: Int64,
        _ actions: inout [QueueAction]
    ) {
        guard var envelope = messages[id] else { return }
        var expanded = false
        for entry in flight.outcomes {
            let outcome = entry.outcome
            let i = Int(outcome.index)
            // Only recipients this part was asked about, and only once.
            guard entry.asked.contains(outcome.index), envelope.recipients.indices.contains(i),
                envelope.recipients[i].state == .pending
            else { continue }
            let address = envelope.recipients[i].address
            envelope.recipients[i].lastResult = outcome.text
            noteDoubt(id, outcome)
            let relay = entry.role == .local ? "local" : "relay"
            switch outcome.status {
            case .delivered:
                envelope.recipients[i].state = .delivered
                // The next hop reports success now, if it was asked for.
                if outcome.notifyHandedOn { envelope.recipients[i].notify = .never }
                actions.append(.log(.info("to=<\(address)>, relay=\(relay), status=sent (\(outcome.text))", id)))
            case .deferred:
                actions.append(.log(.info("to=<\(address)>, relay=\(relay), status=deferred (\(outcome.text))", id)))
            case .failed:
                envelope.recipients[i].state = .failed
                actions.append(.log(.info("to=<\(address)>, relay=\(relay), status=bounced (\(outcome.text))", id)))
            case .expanded:
                let (added, refused) = RecipientExpansion.add(
                    outcome.expansion, parent: i, refusals: refusals, to: &envelope)
                envelope.recipients[i].state = .delivered
                envelope.recipients[i].lastResult = "\(DSNReport.expandedResultPrefix) (\(outcome.text))"
                expanded = expanded || added > 0
                let also = refused.isEmpty ? "" : ", refused: \(refused.joined(separator: " "))"
                actions.append(
                    .log(
                        .info(
                            "to=<\(address)>, relay=\(relay), status=expanded (\(outcome.text); \(added) new\(also))",
                            id)))
            }
        }
        settleDuplicates(&envelope, &actions)
        if envelope.recipients.allSatisfy({ $0.state != .pending }) {
            finish(envelope, now: now, &actions)
            return
        }
        if flight.soon || expanded || flight.outcomes.contains(where: { $0.outcome.interrupted }) {
            envelope.nextAttempt = now + 1
        } else {
            envelope.attempts += 1
            envelope.nextAttempt =
                now
                + RetrySchedule.delay(
                    afterAttempts: envelope.attempts, minimum: settings.retryMinimum, maximum: settings.retryMaximum)
        }
        messages[id] = envelope
        actions.append(.persist(envelope, durable: false))
        reportFailuresNow(envelope, now: now, &actions)
    }

    /// Duplicates whose primary has an outcome take it (and are logged
    /// with it, so that each address the client gave has its line).
    mutating func settleDuplicates(_ envelope: inout Envelope, _ actions: inout [QueueAction]) {
        for i in DuplicateRecipients.settle(&envelope) {
            let r = envelope.recipients[i]
            let primary = envelope.recipients[r.duplicateOf ?? i].address
            let status = r.state == .failed ? "bounced" : "sent"
            actions.append(
                .log(
                    .info(
                        "to=<\(r.address)>, status=\(status) (same delivery as <\(primary)>: \(r.lastResult))",
                        envelope.queueID)))
        }
    }

    /// Every recipient has a final state: the sender is told of failures
    /// (and of successes it asked about), then the message leaves the queue.
    /// The notice is durable before the message is removed.
    mutating func finish(_ envelope: Envelope, now: Int64, _ actions: inout [QueueAction]) {
        let id = envelope.queueID
        guard !notifying.contains(id) else { return }
        notifying.insert(id)
        messages[id] = envelope
        sendNotice(envelope, event: .failed, for: .finalFailures, now: now, &actions)
    }

    /// An interrupted attempt leaves the recipient in doubt; any answer
    /// from a delivery that ran to its end settles the doubt.
    private mutating func noteDoubt(_ id: QueueID, _ outcome: RecipientOutcome) {
        if outcome.interrupted {
            maybeDelivered[id, default: []].insert(outcome.index)
        } else if maybeDelivered[id]?.remove(outcome.index) != nil, maybeDelivered[id]?.isEmpty == true {
            maybeDelivered[id] = nil
        }
    }

    mutating func remove(_ envelope: Envelope, _ actions: inout [QueueAction]) {
        maybeDelivered[envelope.queueID] = nil
        messages[envelope.queueID] = nil
        actions.append(.remove(envelope.queueID))
        actions.append(.log(.info("removed", envelope.queueID)))
    }
}

extension QueueMachine {
    /// The deliveries of one message that are under way.
    struct InFlight: Equatable {
        /// The parts not yet answered: for each delivery process, the
        /// indices of the recipients it was asked about, in the job's order.
        var waiting: [Role: [UInt32]] = [:]
        var outcomes: [PartOutcome] = []
        /// A part could not go, or its process went away: try again in a
        /// second, not on the retry schedule.
        var soon = false
    }
}

/// One recipient's outcome, with the part that reported it.
struct PartOutcome: Equatable {
    var outcome: RecipientOutcome
    /// `.local` or `.relay`.
    var role: Role
    /// The recipients that part was asked about: an outcome for any other
    /// index is ignored.
    var asked: Set<UInt32>
}
