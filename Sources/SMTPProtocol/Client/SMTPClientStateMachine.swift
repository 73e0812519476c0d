/// The client side of one outbound SMTP connection, without I/O: events in,
/// actions out (`SMTPServerStateMachine`'s shape, turned around), so every
/// decision can be tested transcript by transcript and fuzzed.
///
/// One connection may carry several messages (connection reuse); each
/// message handed in gets exactly one `.report` with one result per
/// recipient, whatever the server does. The server can cause a deferral or
/// a bounce and nothing else: its replies are framed by a strict, bounded
/// parser, every reply must be one we asked for, and anything else ends the
/// connection with every unanswered recipient deferred.
///
/// Events that do not fit the current state (a `.tlsEstablished` nobody
/// asked for, content nobody requested) are ignored, so no sequence of
/// events can make the machine misbehave.
public struct SMTPClientStateMachine: Sendable {
    let settings: SMTPClientSettings
    let texts: ResultTexts
    var parser: SMTPReplyParser
    var stage = Stage.opening
    /// Replies the server owes us, in the order the commands went out
    /// (RFC 2920: pipelined replies come back in command order).
    var expected: [Expectation] = [.greeting]
    var capabilities = ServerCapabilities.none
    var tlsActive = false
    /// Messages handed in and not yet begun.
    var pending: [OutboundMessage] = []
    var noMoreMessages = false
    var transaction: Transaction?
    /// The server holds a MAIL transaction that did not run to its end of
    /// data: the next message starts with RSET.
    var transactionOpen = false
    /// A `.readContent` is unanswered.
    var readOutstanding = false
    /// Answers still to come for reads of messages already reported.
    var readsToDrop = 0
    /// A read is wanted but waits for those answers (`readOutstanding` is
    /// already set).
    var readDeferred = false
    /// Why the session failed, for messages handed in afterwards.
    var closingFailure: SessionFailure?
    /// Set while handling an event when something new is awaited.
    var waitChanged = false

    enum Stage: Equatable {
        /// Greeting, EHLO/HELO, STARTTLS.
        case opening
        case handshaking
        /// Ready for a message.
        case idle
        /// RSET sent before this message.
        case resetting(OutboundMessage)
        case transaction
        case quitting
        case closed
    }

    public init(settings: SMTPClientSettings) {
        self.settings = settings
        self.texts = ResultTexts(remoteName: settings.remoteName, remoteAddress: settings.remoteAddress)
        self.parser = SMTPReplyParser(limits: settings.replyLimits)
    }

    /// Once `.close` has been emitted.
    public var isClosed: Bool { stage == .closed }

    /// The session is established and no message is in progress: a message
    /// handed in now starts at once.
    public var isIdle: Bool { stage == .idle }

    /// What the server offered in its last EHLO (`.none` after HELO).
    public var serverCapabilities: ServerCapabilities { capabilities }

    public var isTLSActive: Bool { tlsActive }

    public mutating func handle(_ event: SMTPClientEvent) -> [SMTPClientAction] {
        var actions: [SMTPClientAction] = []
        waitChanged = false
        switch event {
        case .connected:
            if stage == .opening && expected == [.greeting] { waitChanged = true }
        case .received(let bytes):
            receive(bytes, &actions)
        case .tlsEstablished:
            tlsEstablished(&actions)
        case .tlsFailed:
            tlsFailed(&actions)
        case .content(let block):
            contentBlock(block, &actions)
        case .contentEnd:
            contentEnd(&actions)
        case .contentUnreadable:
            contentUnreadable(&actions)
        case .timedOut:
            timedOut(&actions)
        case .connectionClosed:
            connectionClosed(&actions)
        case .nextMessage(let message):
            enqueue(message, &actions)
        case .noMoreMessages:
            noMoreMessages = true
            if stage == .idle { startNextMessage(&actions) }
        }
        if waitChanged && stage != .closed { actions.append(timerAction) }
        return actions
    }

    /// The timer for whatever is awaited now.
    private var timerAction: SMTPClientAction {
        let timeouts = settings.timeouts
        if let next = expected.first { return .armTimer(seconds: next.timeout(timeouts)) }
        if stage == .handshaking { return .armTimer(seconds: timeouts.command) }
        if readOutstanding { return .armTimer(seconds: timeouts.dataBlock) }
        return .cancelTimer
    }

    // MARK: - Input

    private mutating func receive(_ bytes: [UInt8], _ actions: inout [SMTPClientAction]) {
        switch stage {
        case .closed:
            return
        case .handshaking:
            violation(.cleartextDuringHandshake, waitingFor: nil, &actions)
            return
        default:
            break
        }
        parser.append(bytes)
        while stage != .closed {
            let reply: SMTPReply?
            do {
                reply = try parser.nextReply()
            } catch {
                violation(.malformedReply(error), waitingFor: expected.first, &actions)
                return
            }
            guard let reply else { return }
            handleReply(reply, &actions)
        }
    }

    private mutating func handleReply(_ reply: SMTPReply, _ actions: inout [SMTPClientAction]) {
        waitChanged = true
        if stage == .quitting {
            closeNormally(&actions)
            return
        }
        // RFC 5321 §3.8: 421 may come at any time, asked for or not.
        if reply.code == 421 {
            serviceClosing(reply, waitingFor: expected.first, &actions)
            return
        }
        guard !expected.isEmpty else {
            violation(.unsolicitedReply(reply.code), waitingFor: nil, &actions)
            return
        }
        let answered = expected.removeFirst()
        switch answered {
        case .greeting: greetingReply(reply, &actions)
        case .ehlo: ehloReply(reply, &actions)
        case .helo: heloReply(reply, &actions)
        case .startTLS: startTLSReply(reply, &actions)
        case .rset: rsetReply(reply, &actions)
        case .quit: closeNormally(&actions)
        case .mail, .rcpt, .data, .dataEnd, .abandonedData, .bdat:
            transactionReply(reply, answered, &actions)
        }
    }

    // MARK: - Output

    mutating func send(_ command: SMTPClientCommand, _ actions: inout [SMTPClientAction]) {
        actions.append(.send(command.bytes))
        waitChanged = true
    }

    mutating func sendQuit(_ actions: inout [SMTPClientAction]) {
        stage = .quitting
        expected = [.quit]
        send(.quit, &actions)
    }

    mutating func closeNormally(_ actions: inout [SMTPClientAction]) {
        stage = .closed
        expected = []
        actions.append(.close)
    }

    mutating func report(_ transaction: Transaction, attempted: Bool, _ actions: inout [SMTPClientAction]) {
        actions.append(
            .report(
                MessageReport(
                    queueID: transaction.message.queueID, results: transaction.outcomes.compactMap { $0 },
                    attempted: attempted, dsnPassedOn: transaction.dsnPassedOn)))
    }
}
