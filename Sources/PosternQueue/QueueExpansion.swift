import PosternCore
import PosternIPC

/// Recipients that local delivery replaced by others (an alias's members,
/// a `.forward`'s entries) are added to the same message, as Sendmail adds
/// expanded recipients to the qf file: the message is stored once, each new
/// recipient is delivered, retried and bounced like one from RCPT, and the
/// sender's DSN requests carry over.
extension QueueService {
    /// A remote address an alias or `.forward` named is routed by the lookup
    /// as a RCPT from a client that may relay would be (virtusertable,
    /// local domains, the relay tricks taken off), so that `bob@ourdomain`
    /// in an alias is local again and a virtual address is mapped. Then the
    /// outcomes settle. Runs on `state`.
    func routeExpansions(_ id: QueueID, _ flight: InFlight) {
        let remote = Set(
            flight.outcomes.flatMap { $0.0.status == .expanded ? $0.0.expansion : [] }
                .filter { $0.localUser.isEmpty }.map(\.address))
        guard !remote.isEmpty else { return settle(id, flight) }
        var routes: [String: ExpansionRoute] = [:]
        var remaining = remote.count
        for address in remote {
            routeAddress(address) { [self] route in
                routes[address] = route
                remaining -= 1
                if remaining == 0 {
                    let refusals = routes.compactMapValues { route -> String? in
                        if case .refused(let reason) = route { return reason }
                        return nil
                    }
                    settle(id, Self.applying(routes, to: flight), refusals: refusals)
                }
            }
        }
    }

    enum ExpansionRoute {
        case local(user: String, address: String)
        case remote(address: String)
        case refused(String)
        case unavailable
    }

    private func routeAddress(_ address: String, then done: @escaping (ExpansionRoute) -> Void) {
        guard let lookup = peers.channel(.lookup) else { return done(.unavailable) }
        let client = ClientContext(address: "127.0.0.1", hostname: "localhost", authenticatedUser: "MAILER-DAEMON")
        lookup.request(.checkRecipient(address: address, client: client)) { [self] result in
            let route: ExpansionRoute
            switch result.map(\.message) {
            case .success(.recipientAccepted(let user)): route = .local(user: user, address: address)
            case .success(.recipientRemote(let routed, _)): route = .remote(address: routed)
            case .success(.rejected(let status)) where status.code >= 500:
                route = .refused("\(status.code) \(status.enhanced) \(status.text)")
            default: route = .unavailable
            }
            state.async { done(route) }
        }
    }

    /// The outcomes with each remote member replaced by its route. A
    /// parent with a member the lookup could not route now is deferred
    /// whole (expanding it again later costs nothing); a refused member
    /// stays as it was and fails when added (`refusals`).
    private static func applying(_ routes: [String: ExpansionRoute], to flight: InFlight) -> InFlight {
        var result = flight
        result.outcomes = flight.outcomes.map { entry in
            var (outcome, role, asked) = entry
            guard outcome.status == .expanded else { return entry }
            var members: [ExpandedRecipient] = []
            for member in outcome.expansion {
                guard member.localUser.isEmpty else {
                    members.append(member)
                    continue
                }
                switch routes[member.address] ?? .unavailable {
                case .local(let user, let address):
                    members.append(ExpandedRecipient(address: address, localUser: user, target: .name))
                case .remote(let address):
                    members.append(ExpandedRecipient(address: address, localUser: "", target: .name))
                case .refused:
                    members.append(member)
                case .unavailable:
                    return (
                        RecipientOutcome(
                            index: outcome.index, status: .deferred,
                            text: "4.3.0 cannot route \(member.address) now (\(outcome.text))"), role, asked
                    )
                }
            }
            outcome.expansion = members
            return (outcome, role, asked)
        }
        return result
    }
}
