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
            // The framer allows for ESMTP parameters; only MAIL and RCPT
            // carry them.
            if bytes.count + ASCII.crlf.count > settings.maxCommandLineLength && !Self.carriesParameters(bytes) {
                return reply(.lineTooLong, &actions)
            }
            do throws(SMTPCommandError) {
                handle(try SMTPCommand.parse(bytes), &actions)
            } catch .malformedChunk {
                // The chunk's length is unknown, so its bytes cannot be
                // skipped, and reading them as commands would run whatever
                // the client put in its message.
                shutDown(SMTPCommandError.malformedChunk.reply, &actions)
            } catch {
                reply(accessDenied ? .accessDenied : error.reply, &actions)
            }
        }
    }

    private static func carriesParameters(_ line: [UInt8]) -> Bool {
        line.count > 5 && line[4] == ASCII.space
            && (ASCII.equalsIgnoringCase(line[..<4], "MAIL") || ASCII.equalsIgnoringCase(line[..<4], "RCPT"))
    }

    private mutating func handle(_ command: SMTPCommand, _ actions: inout [SMTPServerAction]) {
        if accessDenied && command != .quit {
            reply(.accessDenied, &actions)
            if case .bdat(let size, _) = command, phase != .closed { enterDiscard(size) }
            return
        }
        let privacy = settings.privacy
        switch command {
        case .helo(let name):
            // A new HELO/EHLO implies RSET (RFC 5321 §4.1.4).
            resetTransaction(&actions)
            greeting = ClientGreeting(name: name, esmtp: false)
            reply(SMTPReply(code: 250, enhanced: "", text: settings.hostname), &actions)
        case .ehlo(let name):
            resetTransaction(&actions)
            greeting = ClientGreeting(name: name, esmtp: true)
            reply(ehloReply, &actions)
        case .mail(let sender, let parameters):
            mail(sender, parameters, &actions)
        case .rcpt(let recipient, let parameters):
            rcpt(recipient, parameters, &actions)
        case .data:
            data(&actions)
        case .bdat(let size, let last):
            bdat(size: size, last: last, &actions)
        case .rset:
            resetTransaction(&actions)
            reply(.ok, &actions)
        case .noop:
            reply(.ok, &actions)
        case .quit:
            resetTransaction(&actions)
            actions.append(.reply(.bye))
            actions.append(.close)
            phase = .closed
        case .vrfy:
            // Sendmail's order: `novrfy` answers before `needvrfyhelo` asks.
            if !privacy.contains(.novrfy) && privacy.contains(.needvrfyhelo) && greeting == nil {
                return reply(.introduceYourself, &actions)
            }
            reply(.cannotVerify, &actions)
        case .expn:
            if privacy.contains(.noexpn) { return reply(.notAllowed, &actions) }
            if privacy.contains(.needexpnhelo) && greeting == nil { return reply(.introduceYourself, &actions) }
            reply(.expnNotImplemented, &actions)
        case .etrn:
            reply(privacy.contains(.noetrn) ? .notAllowed : .etrnUnavailable, &actions)
        case .verb:
            reply(privacy.contains(.noverb) ? .verbUnavailable : .verboseMode, &actions)
        case .help:
            reply(.help, &actions)
        case .starttls:
            startTLS(&actions)
        case .auth(let mechanism, let initialResponse):
            auth(mechanism: mechanism, initialResponse: initialResponse, &actions)
        }
    }

    /// Exactly the extensions implemented, nothing aspirational. DSN is
    /// left out under `noreceipts`.
    var ehloReply: SMTPReply {
        var keywords = ["PIPELINING", "SIZE \(settings.maxMessageSize)", "8BITMIME", "ENHANCEDSTATUSCODES", "SMTPUTF8"]
        if !settings.privacy.contains(.noreceipts) { keywords.append("DSN") }
        keywords.append("CHUNKING")
        keywords += securityKeywords
        return SMTPReply(code: 250, enhanced: "", text: settings.hostname, additionalLines: keywords)
    }

    /// Ends the transaction, discarding a spool file BDAT chunks went to.
    private mutating func resetTransaction(_ actions: inout [SMTPServerAction]) {
        if message != nil {
            actions.append(.abortMessage)
            message = nil
        }
        transaction = nil
    }

    private mutating func mail(
        _ sender: ReversePath, _ parameters: MailParameters, _ actions: inout [SMTPServerAction]
    ) {
        // RFC 5321 §4.1.4 lets a server take MAIL without HELO;
        // `needmailhelo` is Sendmail's way to insist.
        if greeting == nil && settings.privacy.contains(.needmailhelo) { return reply(.politeHelo, &actions) }
        if settings.authRequired && authentication.user == nil { return reply(.authRequired, &actions) }
        guard transaction == nil else { return reply(message == nil ? .nestedMail : .mailAfterBdat, &actions) }
        // ESMTP parameters only exist for a client that said EHLO.
        if greeting?.esmtp != true, let keyword = parameters.keywords.first {
            return reply(.unsupportedParameter(keyword), &actions)
        }
        // AUTH= belongs to the AUTH extension (RFC 4954 §5): not offered, not known.
        if parameters.auth != nil && !authOffered { return reply(.unsupportedParameter("AUTH"), &actions) }
        if !sender.isASCII && !parameters.smtputf8 { return reply(.nonASCIISender, &actions) }
        if let size = parameters.size, size > settings.maxMessageSize {
            return reply(.messageTooBig, &actions)
        }
        phase = .awaitingSenderVerdict(Transaction(sender: sender, parameters: parameters))
        actions.append(.checkSender(address: sender.address, declaredSize: parameters.size))
    }

    private mutating func rcpt(
        _ recipient: MailboxAddress, _ parameters: RecipientParameters, _ actions: inout [SMTPServerAction]
    ) {
        guard var current = transaction else { return reply(.needMail, &actions) }
        if message != nil { return reply(.rcptAfterBdat, &actions) }
        if greeting?.esmtp != true, let keyword = parameters.keywords.first {
            return reply(.unsupportedParameter(keyword), &actions)
        }
        guard current.acceptedCount < settings.maxRecipients else { return reply(.tooManyRecipients, &actions) }
        if !recipient.isASCII && !current.parameters.smtputf8 { return reply(.nonASCIIRecipient, &actions) }
        var notify = parameters.notify
        // `noreceipts`: no success notices. What remains is kept; nothing
        // remaining means the client asked for no failure notices either.
        if settings.privacy.contains(.noreceipts), var requested = notify, requested.remove(.success) != nil {
            notify = requested.isEmpty ? [.never] : requested
        }
        current.recipientsTried += 1
        transaction = current
        phase = .awaitingRecipientVerdict(
            AcceptedRecipient(address: recipient.address, localUser: "", notify: notify, orcpt: parameters.orcpt))
        actions.append(.checkRecipient(address: recipient.address))
    }

    private mutating func data(_ actions: inout [SMTPServerAction]) {
        guard let transaction, transaction.recipientsTried > 0 else { return reply(.needRecipient, &actions) }
        if message != nil { return reply(.dataAfterBdat, &actions) }
        guard transaction.acceptedCount > 0 else { return reply(.noValidRecipients, &actions) }
        phase = .awaitingMessageOpen(.data)
        actions.append(.openMessage)
    }

    /// A refused BDAT still has its chunk read and dropped (RFC 3030 §2),
    /// so that pipelined chunks after a failure are never run as commands.
    private mutating func bdat(size: Int, last: Bool, _ actions: inout [SMTPServerAction]) {
        let refusal: SMTPReply?
        if let transaction {
            if transaction.recipientsTried == 0 {
                refusal = .needRecipient
            } else if transaction.acceptedCount == 0 {
                refusal = .noValidRecipients
            } else {
                refusal = nil
            }
        } else {
            refusal = .needMail
        }
        if let refusal {
            reply(refusal, &actions)
            if phase != .closed { enterDiscard(size) }
            return
        }
        let chunk = Chunk(size: size, remaining: size, last: last)
        if message == nil {
            phase = .awaitingMessageOpen(.chunk(chunk))
            actions.append(.openMessage)
        } else {
            enterChunk(chunk, &actions)
        }
    }
}
