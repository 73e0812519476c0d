import PosternCore
import PosternIPC

/// Members an alias or `.forward` named (`RecipientExpansion`). A remote
/// member is routed by the lookup as a RCPT from a client that may relay
/// would be (virtusertable, local domains, the relay tricks taken off), so
/// that `bob@ourdomain` in an alias is local again and a virtual address is
/// mapped; only then do the attempt's outcomes settle.
extension QueueMachine {
    mutating func routeExpansions(_ id: QueueID, _ flight: InFlight, now: Int64, _ actions: inout [QueueAction]) {
        let remote = Set(
            flight.outcomes.flatMap { $0.outcome.status == .expanded ? $0.outcome.expansion : [] }
                .filter { $0.localUser.isEmpty }.map(\.address))
        guard !remote.isEmpty else { return settle(id, flight, now: now, &actions) }
        // Without a lookup every member is unavailable now.
        guard peers[.lookup] != nil else { return settle(id, Self.applying([:], to: flight), now: now, &actions) }
        let tag = newTag()
        routings[tag] = ExpansionRouting(queueID: id, flight: flight, waiting: remote)
        for address in remote.sorted() { actions.append(.lookUp(address: address, .expansion(tag, address: address))) }
    }

    mutating func expansionRouted(
        _ tag: UInt64, _ address: String, _ answer: LookupAnswer, now: Int64, _ actions: inout [QueueAction]
    ) {
        guard var routing = routings[tag], routing.waiting.remove(address) != nil else { return }
        routing.answers[address] = answer
        guard routing.waiting.isEmpty else {
            routings[tag] = routing
            return
        }
        routings[tag] = nil
        let refusals = routing.answers.compactMapValues { answer -> String? in
            if case .refused(let reason) = answer { return reason }
            return nil
        }
        settle(
            routing.queueID, Self.applying(routing.answers, to: routing.flight), refusals: refusals, now: now,
            &actions)
    }

    /// The outcomes with each remote member replaced by its route. A
    /// parent with a member the lookup could not route now is deferred
    /// whole (expanding it again later costs nothing); a refused member
    /// stays as it was and fails when added (`refusals`).
    static func applying(_ answers: [String: LookupAnswer], to flight: InFlight) -> InFlight {
        var result = flight
        result.outcomes = flight.outcomes.map { entry in
            var entry = entry
            guard entry.outcome.status == .expanded else { return entry }
            var members: [ExpandedRecipient] = []
            for member in entry.outcome.expansion {
                guard member.localUser.isEmpty else {
                    members.append(member)
                    continue
                }
                switch answers[member.address] ?? .unavailable {
                case .local(let user):
                    members.append(ExpandedRecipient(address: member.address, localUser: user, target: .name))
                case .remote(let address):
                    members.append(ExpandedRecipient(address: address, localUser: "", target: .name))
                case .refused:
                    members.append(member)
                case .unavailable:
                    entry.outcome = RecipientOutcome(
                        index: entry.outcome.index, status: .deferred,
                        text: "4.3.0 cannot route \(member.address) now (\(entry.outcome.text))")
                    return entry
                }
            }
            entry.outcome.expansion = members
            return entry
        }
        return result
    }
}

/// An attempt whose expansions wait for the lookup's routes.
struct ExpansionRouting: Equatable {
    var queueID: QueueID
    var flight: QueueMachine.InFlight
    /// Remote members not yet answered.
    var waiting: Set<String>
    var answers: [String: LookupAnswer] = [:]
}
