/// Gathers the outcomes of the parts of one delivery job (one per user, or
/// one per destination domain); the last part completes it.
public final class OutcomeCollector: @unchecked Sendable {
    private let lock = Lock()
    private var remaining: Int
    private var outcomes: [RecipientOutcome] = []
    private let done: ([RecipientOutcome]) -> Void

    public init(parts: Int, done: @escaping ([RecipientOutcome]) -> Void) {
        self.remaining = parts
        self.done = done
        if parts == 0 { done([]) }
    }

    public func add(_ more: [RecipientOutcome]) {
        let finished: [RecipientOutcome]? = lock.withLock {
            outcomes += more
            remaining -= 1
            return remaining == 0 ? outcomes : nil
        }
        if let finished { done(finished) }
    }
}
