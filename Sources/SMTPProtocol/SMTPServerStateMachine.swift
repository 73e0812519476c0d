/// The SMTP server side of one connection, without I/O: bytes and answers
/// in, actions out (in the manner of SwiftNIO's and postgres-nio's state
/// machines), so every protocol decision can be tested byte for byte.
///
/// Input is consumed one command at a time. When a command needs an
/// asynchronous answer (a recipient check, a spool file, a commit) the
/// machine stops reading, keeps the rest of the input (up to
/// `maxPendingInput`), and resumes when the answer arrives; that is what
/// makes PIPELINING safe and keeps replies in command order.
public struct SMTPServerStateMachine: Sendable {
    /// Keeps each write action to a size the I/O layer can hand to one
    /// write call without a second buffer.
    static let maxWriteChunk = 65_536

    let settings: SMTPServerSettings
    let clientAddress: String
    var phase = Phase.command
    var greeting: ClientGreeting?
    var transaction: Transaction?
    var message: OpenMessage?
    var framer: LineFramer
    /// Input received and not yet consumed.
    var input: [UInt8] = []
    var errorCount = 0
    /// The session ended while the queue was opening a spool file: that
    /// file must be discarded when its answer arrives.
    var discardLateMessage = false

    public init(settings: SMTPServerSettings, clientAddress: String) {
        self.settings = settings
        self.clientAddress = clientAddress
        self.framer = LineFramer(maxLineLength: settings.maxCommandLineLength)
    }

    /// True while an asynchronous answer is pending; input is buffered, not
    /// acted on.
    public var isWaiting: Bool {
        switch phase {
        case .awaitingRecipientVerdict, .awaitingMessageOpen, .awaitingCommit: return true
        case .command, .receivingData, .closed: return false
        }
    }

    /// True once `.close` has been emitted; every later event is ignored.
    public var isClosed: Bool { phase == .closed }

    /// The greeting. No enhanced code: RFC 2034 §3 exempts the greeting.
    public mutating func start() -> [SMTPServerAction] {
        guard phase != .closed else { return [] }
        return [.reply(SMTPReply(code: 220, enhanced: "", text: settings.greeting))]
    }

    public mutating func receive(_ bytes: some Collection<UInt8>) -> [SMTPServerAction] {
        guard phase != .closed else { return [] }
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

    public mutating func recipientChecked(_ verdict: RecipientVerdict) -> [SMTPServerAction] {
        guard case .awaitingRecipientVerdict(let address) = phase else { return [] }
        phase = .command
        var actions: [SMTPServerAction] = []
        switch verdict {
        case .accept(let localUser):
            transaction?.recipients.append(AcceptedRecipient(address: address, localUser: localUser))
            reply(.recipientOk, &actions)
        case .reject(let rejection):
            reply(rejection, &actions)
        }
        processInput(&actions)
        return actions
    }

    /// - Parameters:
    ///   - queueID: the new spool file's id, or nil if the queue could not
    ///     create one (451, the transaction is reset).
    ///   - date: the RFC 5322 date for the Received: header.
    public mutating func messageOpened(queueID: String?, date: String) -> [SMTPServerAction] {
        guard phase == .awaitingMessageOpen else {
            if phase == .closed && discardLateMessage && queueID != nil {
                discardLateMessage = false
                return [.abortMessage]
            }
            return []
        }
        var actions: [SMTPServerAction] = []
        guard input.isEmpty else {
            if queueID != nil { actions.append(.abortMessage) }
            phase = .command
            shutDown(.synchronizationError, &actions)
            return actions
        }
        guard let queueID, let transaction, let greeting else {
            if queueID != nil { actions.append(.abortMessage) }
            self.transaction = nil
            phase = .command
            // The queue's failure, not the client's: not counted.
            actions.append(.reply(.queueFileError))
            return actions
        }
        let recipient = transaction.recipients.count == 1 ? transaction.recipients.first?.address : nil
        let header = ReceivedHeader.build(
            helo: greeting.name, esmtp: greeting.esmtp, clientAddress: clientAddress, hostname: settings.hostname,
            queueID: queueID, recipient: recipient, date: date)
        message = OpenMessage(
            queueID: queueID,
            receiver: DataReceiver(
                maxMessageSize: settings.maxMessageSize, maxReceivedHeaders: settings.maxReceivedHeaders),
            headerSize: header.count)
        phase = .receivingData
        actions.append(.reply(.startMailInput))
        actions.append(.writeMessageData(header))
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
            case .receivingData:
                index += receiveData(input[index...], &actions)
            case .awaitingRecipientVerdict, .awaitingMessageOpen, .awaitingCommit, .closed:
                break reading
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

    private mutating func receiveData(_ bytes: ArraySlice<UInt8>, _ actions: inout [SMTPServerAction]) -> Int {
        guard var current = message else {
            // Unreachable: the phase is only set together with `message`.
            shutDown(.queueFileError, &actions)
            return bytes.count
        }
        message = nil  // keeps the receiver uniquely referenced while it runs
        var output: [UInt8] = []
        output.reserveCapacity(min(bytes.count, Self.maxWriteChunk))
        let consumed = current.receiver.consume(bytes, into: &output)
        message = current
        var start = output.startIndex
        while start < output.endIndex {
            let end = min(start + Self.maxWriteChunk, output.endIndex)
            actions.append(.writeMessageData(Array(output[start..<end])))
            start = end
        }
        if current.receiver.isComplete { finishMessage(&actions) }
        return consumed
    }

    /// End of DATA: commit, or refuse with the most specific reason.
    private mutating func finishMessage(_ actions: inout [SMTPServerAction]) {
        guard let current = message, let transaction, let greeting else {
            // Unreachable: DATA requires all three. Ending the session beats
            // leaving the phase on a finished receiver.
            shutDown(.queueFileError, &actions)
            return
        }
        message = nil
        let receiver = current.receiver
        let refusal: SMTPReply?
        if receiver.sawBareLineEnding {
            refusal = .bareLineEndingInData
        } else if receiver.sawNUL {
            refusal = .nulInData
        } else if receiver.sizeExceeded {
            refusal = .messageTooBig
        } else if receiver.tooManyHops {
            refusal = .tooManyHops
        } else {
            refusal = nil
        }
        if let refusal {
            self.transaction = nil
            phase = .command
            actions.append(.abortMessage)
            reply(refusal, &actions)
            return
        }
        phase = .awaitingCommit(queueID: current.queueID)
        actions.append(
            .commitMessage(
                AcceptedMessage(
                    sender: transaction.sender.address, recipients: transaction.recipients, helo: greeting.name,
                    size: current.headerSize + receiver.contentSize, body: transaction.body)))
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
        switch phase {
        case .receivingData:
            actions.append(.abortMessage)
        case .awaitingMessageOpen:
            discardLateMessage = true
        case .command, .awaitingRecipientVerdict, .awaitingCommit, .closed:
            break
        }
        actions.append(.reply(reply))
        actions.append(.close)
        phase = .closed
        message = nil
        transaction = nil
        input = []
    }
}
