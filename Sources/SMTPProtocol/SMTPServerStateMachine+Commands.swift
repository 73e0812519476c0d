/// What each command does to the session (RFC 5321 §4.1.1 and §4.1.4).
extension SMTPServerStateMachine {
    mutating func handleLine(_ line: Result<[UInt8], LineFramerError>, _ actions: inout [SMTPServerAction]) {
        switch line {
        case .failure(.lineTooLong):
            reply(.lineTooLong, &actions)
        case .failure(.bareLineEnding):
            reply(.bareLineEnding, &actions)
        case .failure(.nul):
            reply(.nulInCommand, &actions)
        case .success(let bytes):
            do throws(SMTPCommandError) {
                handle(try SMTPCommand.parse(bytes), &actions)
            } catch {
                reply(error.reply, &actions)
            }
        }
    }

    private mutating func handle(_ command: SMTPCommand, _ actions: inout [SMTPServerAction]) {
        switch command {
        case .helo(let name):
            // A new HELO/EHLO implies RSET (RFC 5321 §4.1.4).
            transaction = nil
            greeting = ClientGreeting(name: name, esmtp: false)
            reply(SMTPReply(code: 250, enhanced: "", text: settings.hostname), &actions)
        case .ehlo(let name):
            transaction = nil
            greeting = ClientGreeting(name: name, esmtp: true)
            reply(ehloReply, &actions)
        case .mail(let sender, let parameters):
            mail(sender, parameters, &actions)
        case .rcpt(let recipient):
            rcpt(recipient, &actions)
        case .data:
            data(&actions)
        case .rset:
            transaction = nil
            reply(.ok, &actions)
        case .noop:
            reply(.ok, &actions)
        case .quit:
            actions.append(.reply(.bye))
            actions.append(.close)
            phase = .closed
        case .vrfy:
            reply(.cannotVerify, &actions)
        case .expn:
            reply(.expnDisabled, &actions)
        case .help:
            reply(.help, &actions)
        }
    }

    /// Exactly the extensions implemented, nothing aspirational.
    var ehloReply: SMTPReply {
        SMTPReply(
            code: 250, enhanced: "", text: settings.hostname,
            additionalLines: ["PIPELINING", "SIZE \(settings.maxMessageSize)", "8BITMIME", "ENHANCEDSTATUSCODES"])
    }

    private mutating func mail(
        _ sender: ReversePath, _ parameters: MailParameters, _ actions: inout [SMTPServerAction]
    ) {
        guard let greeting else { return reply(.needHelo, &actions) }
        guard transaction == nil else { return reply(.nestedMail, &actions) }
        // ESMTP parameters only exist for a client that said EHLO.
        if !greeting.esmtp {
            if parameters.size != nil { return reply(.unsupportedParameter("SIZE"), &actions) }
            if parameters.body != nil { return reply(.unsupportedParameter("BODY"), &actions) }
        }
        if let size = parameters.size, size > settings.maxMessageSize {
            return reply(.messageTooBig, &actions)
        }
        transaction = Transaction(sender: sender, body: parameters.body)
        reply(.senderOk, &actions)
    }

    private mutating func rcpt(_ recipient: MailboxAddress, _ actions: inout [SMTPServerAction]) {
        guard transaction != nil else { return reply(.needMail, &actions) }
        guard let accepted = transaction?.recipients.count, accepted < settings.maxRecipients else {
            return reply(.tooManyRecipients, &actions)
        }
        transaction?.recipientsTried += 1
        phase = .awaitingRecipientVerdict(address: recipient.address)
        actions.append(.checkRecipient(address: recipient.address))
    }

    private mutating func data(_ actions: inout [SMTPServerAction]) {
        guard let transaction, transaction.recipientsTried > 0 else { return reply(.needRecipient, &actions) }
        guard !transaction.recipients.isEmpty else { return reply(.noValidRecipients, &actions) }
        phase = .awaitingMessageOpen
        actions.append(.openMessage)
    }
}
