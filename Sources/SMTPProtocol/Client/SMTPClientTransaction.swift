extension SMTPClientStateMachine {
    /// One message on its way: what each recipient has been told so far,
    /// and how far the content has gone.
    struct Transaction: Sendable {
        let message: OutboundMessage
        /// The final result of each recipient, nil while it has none. A
        /// recipient the server accepted with RCPT still has none: only the
        /// reply to the end of the data is final for it.
        var outcomes: [RecipientResult?]
        /// Recipients whose RCPT got 2xx, in order.
        var accepted: [Int] = []
        /// Without PIPELINING, the RCPTs still to be sent one by one.
        var unsent: [Int] = []
        var mailAccepted = false
        let pipelined: Bool
        let useBDAT: Bool
        /// DATA has been sent, or BDAT content begun.
        var dataStarted = false
        var content = Content.none
        /// A BDAT chunk was refused: no further chunk may be sent (RFC 3030 §2).
        var contentRefused = false
        let dsnPassedOn: Bool

        enum Content: Sendable {
            case none
            case data(DotStuffer)
            case bdat(BDATFramer)
            /// The end of the content has been sent.
            case finished
        }

        init(message: OutboundMessage, capabilities: ServerCapabilities) {
            self.message = message
            self.outcomes = Array(repeating: nil, count: message.recipients.count)
            self.pipelined = capabilities.pipelining
            self.useBDAT = capabilities.chunking
            self.dsnPassedOn = capabilities.dsn
        }

        /// Every recipient has its final result.
        var isSettled: Bool { outcomes.allSatisfy { $0 != nil } }

        /// Gives every recipient still without a result this one; results
        /// already given (a 550 to RCPT) are never overwritten.
        mutating func settleRemaining(_ disposition: RecipientDisposition, status: String, text: String) {
            for index in outcomes.indices where outcomes[index] == nil {
                outcomes[index] = RecipientResult(index: index, disposition: disposition, status: status, text: text)
            }
        }

        mutating func settle(_ index: Int, _ disposition: RecipientDisposition, status: String, text: String) {
            guard outcomes.indices.contains(index), outcomes[index] == nil else { return }
            outcomes[index] = RecipientResult(index: index, disposition: disposition, status: status, text: text)
        }
    }
}
