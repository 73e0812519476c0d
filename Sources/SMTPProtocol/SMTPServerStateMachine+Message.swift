/// The message content: DATA and BDAT chunks into the spool file, through
/// the same `MessageAssembler`, and the end of the message.
extension SMTPServerStateMachine {
    /// Creates the open message and writes the Received: header, always the
    /// first line of the spool file.
    mutating func openSpool(
        queueID: String, date: String, receiver: DataReceiver?, _ actions: inout [SMTPServerAction]
    ) {
        let utf8 = transaction?.parameters.smtputf8 ?? false
        let recipients = transaction?.recipients ?? []
        let received = ReceivedHeader.build(
            helo: greeting?.name,
            protocolName: ReceivedHeader.protocolName(
                esmtp: greeting?.esmtp ?? false, utf8: utf8, tls: settings.protocolFlags.tls,
                authenticated: settings.protocolFlags.authenticated),
            clientAddress: clientAddress, hostname: settings.hostname, queueID: queueID,
            recipient: recipients.count == 1 ? recipients.first?.address : nil, utf8: utf8, date: date,
            tls: settings.protocolFlags.tls ? settings.tlsDescription : nil)
        let header = settings.addReceivedHeader ? received : []
        let assembler = MessageAssembler(
            limits: MessageAssembler.Limits(
                maxMessageSize: settings.maxMessageSize, maxReceivedHeaders: settings.maxReceivedHeaders,
                maxHeaderSectionSize: settings.maxHeaderSectionSize, maxHeaderLines: settings.maxHeaderLines),
            date: settings.addMissingHeaders ? ReceivedHeader.clean(date) : nil,
            messageID: settings.addMissingHeaders
                ? AddedHeaders.messageID(queueID: queueID, date: date, hostname: settings.hostname) : nil,
            warnings: authenticationWarnings(), masquerader: settings.masquerader)
        message = OpenMessage(queueID: queueID, receiver: receiver, assembler: assembler, written: header.count)
        if !header.isEmpty { actions.append(.writeMessageData(header)) }
    }

    /// Sendmail's `authwarnings` for what an SMTP session can show: no
    /// HELO at all, or a HELO address literal that is not the client's
    /// address. (A HELO name that does not match the client's DNS name
    /// needs a reverse lookup the machine does not have.)
    private func authenticationWarnings() -> [String] {
        guard settings.privacy.contains(.authwarnings) else { return [] }
        let host = ReceivedHeader.clean(settings.hostname)
        let client = ReceivedHeader.addressLiteral(ReceivedHeader.clean(clientAddress))
        guard let greeting else { return ["\(host): \(client) didn't use HELO protocol"] }
        if greeting.name.hasPrefix("["),
            ASCII.string(greeting.name.utf8.map(ASCII.lowercased)) != ASCII.string(client.utf8.map(ASCII.lowercased))
        {
            return ["\(host): Host \(client) claimed to be \(greeting.name)"]
        }
        return []
    }

    /// Appends `output` as write actions of at most `maxWriteChunk` bytes.
    private static func write(_ output: [UInt8], _ actions: inout [SMTPServerAction]) {
        var start = output.startIndex
        while start < output.endIndex {
            let end = min(start + maxWriteChunk, output.endIndex)
            actions.append(.writeMessageData(Array(output[start..<end])))
            start = end
        }
    }

    mutating func receiveData(_ bytes: ArraySlice<UInt8>, _ actions: inout [SMTPServerAction]) -> Int {
        let consumed = passContent(bytes, endOfContent: false, &actions)
        if message?.receiver?.isComplete == true { finishMessage(&actions) }
        return consumed
    }

    mutating func receiveChunk(
        _ bytes: ArraySlice<UInt8>, _ chunk: Chunk, _ actions: inout [SMTPServerAction]
    ) -> Int {
        let taken = min(chunk.remaining, bytes.count)
        var rest = chunk
        rest.remaining -= taken
        _ = passContent(bytes.prefix(taken), endOfContent: chunk.last && rest.remaining == 0, &actions)
        if rest.remaining == 0 {
            chunkComplete(rest, &actions)
        } else {
            phase = .receivingChunk(rest)
        }
        return taken
    }

    /// Content through the transfer decoding and the assembler into the
    /// spool file, the same for DATA and BDAT.
    ///
    /// - Returns: how many bytes of `bytes` were consumed (DATA stops at
    ///   its terminator).
    private mutating func passContent(
        _ bytes: ArraySlice<UInt8>, endOfContent: Bool, _ actions: inout [SMTPServerAction]
    ) -> Int {
        guard var current = message, var receiver = current.receiver else {
            // Unreachable: the phase is only set together with `message`.
            shutDown(.queueFileError, &actions)
            return bytes.count
        }
        message = nil  // keeps the receiver uniquely referenced while it runs
        current.receiver = nil
        var decoded: [UInt8] = []
        decoded.reserveCapacity(min(bytes.count, Self.maxWriteChunk) + 1)
        let consumed = receiver.consume(bytes, into: &decoded)
        if endOfContent { receiver.finish(into: &decoded) }
        var output: [UInt8] = []
        output.reserveCapacity(decoded.count)
        current.assembler.consume(decoded[...], into: &output)
        current.written += output.count
        current.receiver = receiver
        message = current
        Self.write(output, &actions)
        return consumed
    }

    /// Starts reading a chunk's bytes into the open message; an empty chunk
    /// is complete at once.
    mutating func enterChunk(_ chunk: Chunk, _ actions: inout [SMTPServerAction]) {
        if chunk.remaining == 0 {
            // "BDAT 0 LAST" still ends the content: a CR that ended the
            // previous chunk is bare.
            _ = receiveChunk([], chunk, &actions)
        } else {
            phase = .receivingChunk(chunk)
        }
    }

    /// Skips the bytes of a refused chunk.
    mutating func enterDiscard(_ size: Int) {
        phase = size > 0 ? .discardingChunk(remaining: size) : .command
    }

    /// A chunk was read. The message size is checked after every chunk, so
    /// that a client learns early that nothing more will be accepted; the
    /// other refusals wait for the last chunk, as at the end of DATA.
    private mutating func chunkComplete(_ chunk: Chunk, _ actions: inout [SMTPServerAction]) {
        phase = .command
        if chunk.last { return finishMessage(&actions) }
        if message?.sizeExceeded(settings.maxMessageSize) == true {
            message = nil
            transaction = nil
            actions.append(.abortMessage)
            return reply(.messageTooBig, &actions)
        }
        reply(.chunkReceived(chunk.size), &actions)
    }

    /// End of the message: commit, discard, or refuse with the most
    /// specific reason.
    mutating func finishMessage(_ actions: inout [SMTPServerAction]) {
        guard var current = message, let transaction else {
            // Unreachable: DATA and BDAT require both. Ending the session
            // beats leaving the phase on a finished message.
            shutDown(.queueFileError, &actions)
            return
        }
        message = nil
        self.transaction = nil
        phase = .command
        var refusal: SMTPReply? = current.sizeExceeded(settings.maxMessageSize) ? .messageTooBig : nil
        if refusal == nil, let receiver = current.receiver {
            if receiver.sawBareLineEnding && receiver.bareLineEndings == .reject {
                refusal = .bareLineEndingInData
            } else if receiver.sawNUL {
                refusal = .nulInData
            }
        }
        if refusal == nil {
            var output: [UInt8] = []
            current.assembler.finish(into: &output)
            current.written += output.count
            Self.write(output, &actions)
            refusal = current.assembler.refusal
        }
        if let refusal {
            actions.append(.abortMessage)
            return reply(refusal, &actions)
        }
        if transaction.discard {
            actions.append(.abortMessage)
            actions.append(.reply(.discarded(as: current.queueID)))
            return
        }
        phase = .awaitingCommit(queueID: current.queueID)
        let parameters = transaction.parameters
        actions.append(
            .commitMessage(
                AcceptedMessage(
                    sender: transaction.sender.address, recipients: transaction.recipients,
                    helo: greeting?.name ?? "", size: current.written, body: parameters.body, ret: parameters.ret,
                    envid: parameters.envid, smtputf8: parameters.smtputf8,
                    messageID: current.assembler.loggedMessageID)))
    }
}
