/// The SMTP server side of one connection, without I/O: bytes and answers
/// in, actions out (in the manner of SwiftNIO's and postgres-nio's state
/// machines), so every protocol decision can be tested byte for byte.
///
/// Input is consumed one command at a time. When a command needs an
/// asynchronous answer (a sender or recipient check, a spool file, a
/// commit) the machine stops reading, keeps the rest of the input (up to
/// `maxPendingInput`), and resumes when the answer arrives; that is what
/// makes PIPELINING safe and keeps replies in command order.
public struct SMTPServerStateMachine: Sendable {
    /// Keeps each write action to a size the I/O layer can hand to one
    /// write call without a second buffer.
    static let maxWriteChunk = 65_536
    /// What MAIL and RCPT lines may use beyond `maxCommandLineLength`: the
    /// extensions offered raise the line limit by what their parameters
    /// need (RFC 3461 §5: 100 for MAIL, 500 for RCPT; RFC 1870: 26; and
    /// room for AUTH= later, RFC 4954 §9: 500).
    public static let parameterLineAllowance = 1024

    var settings: SMTPServerSettings
    let clientAddress: String
    var phase = Phase.command
    var greeting: ClientGreeting?
    var transaction: Transaction?
    var message: OpenMessage?
    var framer: LineFramer
    /// Input received and not yet consumed.
    var input: [UInt8] = []
    var errorCount = 0
    /// The greeting refused the client: every command but QUIT gets 503.
    var accessDenied = false
    /// The session ended while the queue was opening a spool file: that
    /// file must be discarded when its answer arrives.
    var discardLateMessage = false
    var authentication = AuthenticationState()

    public init(settings: SMTPServerSettings, clientAddress: String) {
        self.settings = settings
        self.clientAddress = clientAddress
        self.framer = LineFramer(maxLineLength: settings.maxCommandLineLength + Self.parameterLineAllowance)
    }

    /// True while an asynchronous answer is pending; input is buffered, not
    /// acted on. The I/O layer should stop reading meanwhile (a BDAT
    /// client sends its chunk right after the command, before the spool
    /// file exists).
    public var isWaiting: Bool {
        switch phase {
        case .awaitingSenderVerdict, .awaitingRecipientVerdict, .awaitingMessageOpen, .awaitingCommit, .awaitingTLS,
            .awaitingAuthStep:
            return true
        case .command, .receivingData, .receivingChunk, .discardingChunk, .readingAuthResponse, .closed: return false
        }
    }

    /// True once `.close` has been emitted; every later event is ignored.
    public var isClosed: Bool { phase == .closed }

    /// Seconds of client silence to allow now (RFC 5321 §4.5.3.2): the data
    /// timeout inside DATA or BDAT content, the command timeout otherwise
    /// (also while waiting for an answer from another process). The I/O
    /// layer re-arms its timer from this after every event, and calls
    /// `timedOut()` when it fires.
    public var currentTimeout: Int {
        switch phase {
        case .receivingData, .receivingChunk, .discardingChunk, .awaitingMessageOpen(.chunk):
            return settings.dataTimeout
        case .command, .awaitingSenderVerdict, .awaitingRecipientVerdict, .awaitingMessageOpen(.data),
            .awaitingCommit, .awaitingTLS, .awaitingAuthStep, .readingAuthResponse, .closed:
            return settings.commandTimeout
        }
    }

    /// Whether TLS protects the session and whether the client has
    /// authenticated; only the Received: protocol name depends on it. The
    /// I/O layer sets it after STARTTLS or AUTH.
    public var protocolFlags: (tls: Bool, authenticated: Bool) {
        get { settings.protocolFlags }
        set { settings.protocolFlags = newValue }
    }

    /// The greeting. No enhanced code: RFC 2034 §3 exempts the greeting.
    ///
    /// - Parameter rejection: the lookup refused this client (an access
    ///   map `Connect:` REJECT, a DNSBL listing): this reply (a 554, say)
    ///   is the greeting, and every later command but QUIT gets
    ///   `503 5.7.0 Error: access denied` (RFC 5321 §3.1), counted as an
    ///   error.
    public mutating func start(rejection: SMTPReply? = nil) -> [SMTPServerAction] {
        guard phase != .closed else { return [] }
        if let rejection {
            // 421 is "closing the transmission channel" (RFC 5321 §3.8):
            // say it and go, as Sendmail does for an access map's 421.
            if rejection.code == 421 {
                var actions: [SMTPServerAction] = []
                shutDown(rejection, &actions)
                return actions
            }
            accessDenied = true
            return [.reply(rejection)]
        }
        return [.reply(SMTPReply(code: 220, enhanced: "", text: settings.greeting))]
    }

    public mutating func receive(_ bytes: some Collection<UInt8>) -> [SMTPServerAction] {
        guard phase != .closed else { return [] }
        if phase == .awaitingTLS { return [] }  // cleartext after STARTTLS: dropped
        var actions: [SMTPServerAction] = []
        // Checked before appending so that a flood while we wait never
        // grows the buffer past the limit, not even for one call.
        if isWaiting && input.count + bytes.count > settings.maxPendingInput {
            shutDown(.inputOverflow(settings.hostname), &actions)
            return actions
        }
        input.append(contentsOf: bytes)
        processInput(&actions)
        return actions
    }

    public mutating func senderChecked(_ verdict: SenderVerdict) -> [SMTPServerAction] {
        guard case .awaitingSenderVerdict(var pending) = phase else { return [] }
        phase = .command
        var actions: [SMTPServerAction] = []
        switch verdict {
        case .accept:
            transaction = pending
            reply(.senderOk, &actions)
        case .discard:
            pending.discard = true
            transaction = pending
            reply(.senderOk, &actions)
        case .reject(let rejection):
            reply(rejection, &actions)
        }
        processInput(&actions)
        return actions
    }

    public mutating func recipientChecked(_ verdict: RecipientVerdict) -> [SMTPServerAction] {
        guard case .awaitingRecipientVerdict(var recipient) = phase else { return [] }
        phase = .command
        var actions: [SMTPServerAction] = []
        switch verdict {
        case .accept(let localUser):
            recipient.localUser = localUser
            transaction?.recipients.append(recipient)
            reply(.recipientOk, &actions)
        case .relay(let address):
            if address != recipient.address {
                // The DSN names the address the client gave (RFC 3461 §4.2).
                if recipient.orcpt == nil { recipient.orcpt = "rfc822;" + recipient.address }
                recipient.address = address
            }
            recipient.localUser = ""
            transaction?.recipients.append(recipient)
            reply(.recipientOk, &actions)
        case .discard:
            transaction?.discardedRecipients += 1
            transaction?.discard = true
            reply(.recipientOk, &actions)
        case .reject(let rejection):
            reply(rejection, &actions)
        }
        processInput(&actions)
        return actions
    }

    /// - Parameters:
    ///   - queueID: the new spool file's id, or nil if the queue could not
    ///     create one (the transaction is reset).
    ///   - date: the RFC 5322 date for the Received: header, and for the
    ///     Date: and Message-ID: headers added to a message without them.
    ///   - refusal: the queue's reason when there is no spool file (452
    ///     4.3.1 when the spool is full); 451 4.3.0 when it gave none.
    public mutating func messageOpened(queueID: String?, date: String, refusal: SMTPReply? = nil)
        -> [SMTPServerAction]
    {
        guard case .awaitingMessageOpen(let start) = phase else {
            if phase == .closed && discardLateMessage && queueID != nil {
                discardLateMessage = false
                return [.abortMessage]
            }
            return []
        }
        var actions: [SMTPServerAction] = []
        switch start {
        case .data:
            guard input.isEmpty else {
                if queueID != nil { actions.append(.abortMessage) }
                phase = .command
                shutDown(.synchronizationError, &actions)
                return actions
            }
            guard let queueID, transaction != nil else {
                if queueID != nil { actions.append(.abortMessage) }
                transaction = nil
                phase = .command
                // The queue's failure, not the client's: not counted.
                actions.append(.reply(refusal ?? .queueFileError))
                return actions
            }
            actions.append(.reply(.startMailInput))
            openSpool(
                queueID: queueID, date: date, receiver: DataReceiver(bareLineEndings: settings.bareLineEndings),
                &actions)
            phase = .receivingData
        case .chunk(let chunk):
            guard let queueID, transaction != nil else {
                if queueID != nil { actions.append(.abortMessage) }
                transaction = nil
                phase = .command
                actions.append(.reply(refusal ?? .queueFileError))
                enterDiscard(chunk.size)
                processInput(&actions)
                return actions
            }
            openSpool(
                queueID: queueID, date: date,
                receiver: DataReceiver(bareLineEndings: settings.bareLineEndings, dotStuffed: false), &actions)
            enterChunk(chunk, &actions)
            processInput(&actions)
        }
        return actions
    }

    /// The transaction ends here whatever the result; HELO state stays.
    public mutating func messageCommitted(_ result: Result<Void, SMTPReply>) -> [SMTPServerAction] {
        guard case .awaitingCommit(let queueID) = phase else { return [] }
        transaction = nil
        phase = .command
        var actions: [SMTPServerAction] = []
        switch result {
        case .success:
            actions.append(.reply(.queued(as: queueID)))
        case .failure(let failure):
            // The queue's failure, not the client's: not counted.
            actions.append(.reply(failure))
        }
        processInput(&actions)
        return actions
    }

    public mutating func timedOut() -> [SMTPServerAction] {
        guard phase != .closed else { return [] }
        var actions: [SMTPServerAction] = []
        shutDown(.timeout(settings.hostname), &actions)
        return actions
    }

    // MARK: - Input

    /// Consumes input until it runs out, the session closes, or a command
    /// needs an answer from outside.
    mutating func processInput(_ actions: inout [SMTPServerAction]) {
        var index = input.startIndex
        reading: while index < input.endIndex {
            switch phase {
            case .command:
                let (consumed, line) = framer.consume(input[index...])
                index += consumed
                if let line { handleLine(line, &actions) }
            case .readingAuthResponse:
                let (consumed, line) = framer.consume(input[index...])
                index += consumed
                if let line { handleAuthResponse(line, &actions) }
            case .receivingData:
                index += receiveData(input[index...], &actions)
            case .receivingChunk(let chunk):
                index += receiveChunk(input[index...], chunk, &actions)
            case .discardingChunk(let remaining):
                let skipped = min(remaining, input.endIndex - index)
                index += skipped
                phase = skipped == remaining ? .command : .discardingChunk(remaining: remaining - skipped)
            case .awaitingSenderVerdict, .awaitingRecipientVerdict, .awaitingMessageOpen, .awaitingCommit,
                .awaitingAuthStep, .closed:
                break reading
            case .awaitingTLS:
                // RFC 3207 §6 and CVE-2011-0411: whatever the client sent
                // after STARTTLS was sent in cleartext, and is never run.
                discardCleartextInput()
                return
            }
        }
        if phase == .closed {
            input = []
            return
        }
        input.removeSubrange(input.startIndex..<min(index, input.endIndex))
        if input.count > settings.maxPendingInput {
            shutDown(.inputOverflow(settings.hostname), &actions)
        }
    }

    // MARK: - Replies

    /// Sends a reply to something the client did; failures count towards
    /// `maxErrors`, and the one that reaches it ends the session.
    mutating func reply(_ reply: SMTPReply, _ actions: inout [SMTPServerAction]) {
        actions.append(.reply(reply))
        guard reply.isFailure else { return }
        errorCount += 1
        if errorCount >= settings.maxErrors {
            shutDown(.tooManyErrors(settings.hostname), &actions)
        }
    }

    /// Ends the session with a final reply. An open spool file is discarded
    /// now; one still being opened is discarded when its answer arrives.
    mutating func shutDown(_ reply: SMTPReply, _ actions: inout [SMTPServerAction]) {
        if message != nil { actions.append(.abortMessage) }
        if case .awaitingMessageOpen = phase { discardLateMessage = true }
        actions.append(.reply(reply))
        actions.append(.close)
        phase = .closed
        message = nil
        transaction = nil
        input = []
    }
}
