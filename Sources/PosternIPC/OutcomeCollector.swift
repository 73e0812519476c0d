import NIOConcurrencyHelpers

/// Gathers the outcomes of the parts of one delivery job (one per user, or
/// one per destination domain); the last part completes it.
public final class OutcomeCollector: Sendable {
    private struct State {
        var remaining: Int
        var outcomes: [RecipientOutcome] = []
    }
    private let state: NIOLockedValueBox<State>
    private let done: @Sendable ([RecipientOutcome]) -> Void

    public init(parts: Int, done: @escaping @Sendable ([RecipientOutcome]) -> Void) {
        self.state = NIOLockedValueBox(State(remaining: parts))
        self.done = done
        if parts == 0 { done([]) }
    }

    public func add(_ more: [RecipientOutcome]) {
        let finished: [RecipientOutcome]? = state.withLockedValue { state in
            state.outcomes += more
            state.remaining -= 1
            return state.remaining == 0 ? state.outcomes : nil
        }
        if let finished { done(finished) }
    }
}
