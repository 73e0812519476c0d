/// Every way a connection ends early. Whatever the cause, each recipient
/// without a final answer is deferred with one text, each message not yet
/// begun is reported as not attempted, and the connection is closed.
extension SMTPClientStateMachine {
    mutating func abort(_ failure: SessionFailure, quit: Bool, _ actions: inout [SMTPClientAction]) {
        if quit { actions.append(.send(SMTPClientCommand.quit.bytes)) }
        if var transaction {
            transaction.settleRemaining(.deferred, status: failure.status, text: failure.text)
            report(transaction, attempted: true, &actions)
        }
        if case .resetting(let message) = stage { pending.insert(message, at: 0) }
        for message in pending { reportDeferred(message, failure, &actions) }
        pending = []
        transaction = nil
        expected = []
        readOutstanding = false
        readsToDrop = 0
        readDeferred = false
        closingFailure = failure
        stage = .closed
        actions.append(.sessionFailed(failure))
        actions.append(.close)
    }

    /// A message this connection never got to.
    mutating func reportDeferred(
        _ message: OutboundMessage, _ failure: SessionFailure, _ actions: inout [SMTPClientAction]
    ) {
        var transaction = Transaction(message: message, capabilities: capabilities)
        transaction.settleRemaining(.deferred, status: failure.status, text: failure.text)
        actions.append(
            .report(
                MessageReport(
                    queueID: message.queueID, results: transaction.outcomes.compactMap { $0 }, attempted: false,
                    dsnPassedOn: false)))
    }

    /// 421: the server is going away; it will not answer anything else.
    mutating func serviceClosing(
        _ reply: SMTPReply, waitingFor: Expectation?, _ actions: inout [SMTPClientAction]
    ) {
        let text =
            waitingFor == .greeting
            ? texts.refusedToTalk(reply) : texts.said(reply, inReplyTo: waitingFor?.command)
        abort(
            SessionFailure(status: ResultTexts.status(for: reply, as: .deferred), text: text), quit: false, &actions)
    }

    mutating func violation(
        _ violation: ProtocolViolation, waitingFor: Expectation?, _ actions: inout [SMTPClientAction]
    ) {
        if stage == .quitting {
            closeNormally(&actions)
            return
        }
        var text = "host \(texts.host) violated the SMTP protocol: \(violation.description)"
        if let waitingFor { text += " " + waitingFor.waiting }
        abort(SessionFailure(status: "4.5.0", text: text), quit: false, &actions)
    }

    mutating func timedOut(_ actions: inout [SMTPClientAction]) {
        conversationEnded("conversation with host \(texts.host) timed out", staleTimerPossible: true, &actions)
    }

    mutating func connectionClosed(_ actions: inout [SMTPClientAction]) {
        conversationEnded("lost connection with host \(texts.host)", staleTimerPossible: false, &actions)
    }

    /// A timeout or a lost connection: the same ending, told apart only by
    /// `what` happened. A timer left over from an earlier wait (no activity
    /// under way) means nothing.
    private mutating func conversationEnded(
        _ what: String, staleTimerPossible: Bool, _ actions: inout [SMTPClientAction]
    ) {
        switch stage {
        case .closed:
            return
        case .quitting:
            closeNormally(&actions)
        case .handshaking:
            let failure = SessionFailure(
                status: "4.4.2", text: "\(what) during the TLS handshake", retryWithoutTLS: settings.tlsPolicy == .may)
            abort(failure, quit: false, &actions)
        case .opening, .idle, .resetting, .transaction:
            if staleTimerPossible && activity == nil { return }
            let text = activity.map { "\(what) \($0)" } ?? what
            abort(SessionFailure(status: "4.4.2", text: text), quit: false, &actions)
        }
    }

    /// What we were doing: "while waiting for reply to RCPT TO", "while
    /// sending the message"; nil when idle.
    private var activity: String? {
        if let next = expected.first { return next.waiting }
        if readOutstanding { return "while sending the message" }
        return nil
    }
}
