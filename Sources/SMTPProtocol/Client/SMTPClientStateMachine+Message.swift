/// One mail transaction: the refusals made before sending anything, MAIL
/// and RCPT (pipelined when offered), DATA or BDAT, and the results.
extension SMTPClientStateMachine {
    mutating func begin(_ message: OutboundMessage, _ actions: inout [SMTPClientAction]) {
        var transaction = Transaction(message: message, capabilities: capabilities)
        if let (status, text) = refusal(of: message) {
            transaction.settleRemaining(.failed, status: status, text: text)
        }
        for (index, recipient) in message.recipients.enumerated()
        where !CommandAddress.isSendable(recipient.address, allowEmpty: false) {
            transaction.settle(
                index, .failed, status: "5.1.3", text: "the recipient address cannot be sent over SMTP")
        }
        // Nothing to send: reported without a word to the server.
        guard !transaction.isSettled else {
            report(transaction, attempted: true, &actions)
            return
        }
        let recipients = transaction.outcomes.indices.filter { transaction.outcomes[$0] == nil }
        var commands = [SMTPClientCommand.mail(from: message.sender, parameters: mailParameters(message))]
        expected.append(.mail)
        if transaction.pipelined {
            // RFC 2920 §3.1: MAIL, every RCPT and DATA in one go. BDAT
            // waits for the RCPT replies, so no content goes out unless a
            // recipient was accepted.
            for index in recipients {
                commands.append(
                    .rcpt(to: message.recipients[index].address, parameters: rcptParameters(index, message)))
                expected.append(.rcpt(index))
            }
            if !transaction.useBDAT {
                commands.append(.data)
                expected.append(.data)
                transaction.dataStarted = true
            }
        } else {
            transaction.unsent = recipients
        }
        actions.append(.send(commands.flatMap(\.bytes)))
        waitChanged = true
        self.transaction = transaction
        stage = .transaction
    }

    /// Refuse rather than corrupt: what this host cannot take is bounced
    /// here, before a byte is sent (no 8-bit to 7-bit downgrade is done).
    private func refusal(of message: OutboundMessage) -> (status: String, text: String)? {
        if message.needsSMTPUTF8 && !capabilities.smtputf8 {
            return ("5.6.7", "host \(texts.host) does not support SMTPUTF8, which this message needs")
        }
        if message.bodyType == .eightBitMIME && !capabilities.eightBitMIME {
            return (
                "5.6.3",
                "host \(texts.host) does not support 8BITMIME, which this message needs"
                    + " (it is not converted to 7 bit)"
            )
        }
        if let limit = capabilities.sizeLimit, message.size > limit {
            return ("5.3.4", "message size \(message.size) exceeds the size limit \(limit) of host \(texts.host)")
        }
        if !CommandAddress.isSendable(message.sender, allowEmpty: true) {
            return ("5.1.7", "the sender address cannot be sent over SMTP")
        }
        return nil
    }

    /// Only what the server offered; nothing at all after HELO.
    private func mailParameters(_ message: OutboundMessage) -> [String] {
        guard capabilities.esmtp else { return [] }
        var parameters: [String] = []
        if capabilities.sizeOffered { parameters.append("SIZE=\(max(0, message.size))") }
        if let body = message.bodyType, capabilities.eightBitMIME {
            parameters.append(body == .eightBitMIME ? "BODY=8BITMIME" : "BODY=7BIT")
        }
        // Only reached with a server that offers it (see `refusal(of:)`).
        if message.needsSMTPUTF8 { parameters.append("SMTPUTF8") }
        if capabilities.dsn {
            if let ret = message.dsnReturn { parameters.append(ret == .full ? "RET=FULL" : "RET=HDRS") }
            if !message.envelopeID.isEmpty { parameters.append("ENVID=" + XTextEncoding.encode(message.envelopeID)) }
        }
        return parameters
    }

    private func rcptParameters(_ index: Int, _ message: OutboundMessage) -> [String] {
        guard capabilities.esmtp && capabilities.dsn else { return [] }
        let recipient = message.recipients[index]
        var parameters: [String] = []
        if !recipient.notify.isEmpty { parameters.append("NOTIFY=" + recipient.notify.word.uppercased()) }
        if let orcpt = Self.originalRecipientParameter(recipient.originalRecipient) { parameters.append(orcpt) }
        return parameters
    }

    /// `ORCPT=addr-type;xtext` from the decoded `type;address`; nil when
    /// there is none or its type is not an atom-like word.
    static func originalRecipientParameter(_ value: String) -> String? {
        let bytes = Array(value.utf8)
        guard let semicolon = bytes.firstIndex(of: UInt8(ascii: ";")), semicolon > 0, semicolon < bytes.count - 1,
            semicolon <= 32
        else { return nil }
        let type = bytes[..<semicolon]
        let isWord = type.allSatisfy {
            ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x2D
        }
        guard isWord else { return nil }
        let address = String(decoding: bytes[(semicolon + 1)...], as: UTF8.self)
        return "ORCPT=\(String(decoding: type, as: UTF8.self));\(XTextEncoding.encode(address))"
    }

    // MARK: - Replies

    mutating func transactionReply(
        _ reply: SMTPReply, _ answered: Expectation, _ actions: inout [SMTPClientAction]
    ) {
        guard var transaction else {
            violation(.unsolicitedReply(reply.code), waitingFor: answered, &actions)
            return
        }
        // 354 answers DATA and nothing else.
        if reply.isIntermediate && answered != .data {
            violation(.unexpectedReply(reply.code), waitingFor: answered, &actions)
            return
        }
        let disposition = ResultTexts.disposition(of: reply)
        let status = ResultTexts.status(for: reply, as: disposition)
        let text = texts.said(reply, inReplyTo: answered.command)
        switch answered {
        case .mail:
            if reply.isPositive {
                transaction.mailAccepted = true
                transactionOpen = true
            } else {
                // Pipelined RCPT and DATA replies still come (503s); they
                // change nothing.
                transaction.settleRemaining(disposition, status: status, text: text)
                transaction.unsent = []
            }
        case .rcpt(let index):
            // After a failed MAIL every recipient already has its result.
            if reply.isPositive {
                if transaction.outcomes.indices.contains(index) && transaction.outcomes[index] == nil {
                    transaction.accepted.append(index)
                }
            } else {
                transaction.settle(index, disposition, status: status, text: text)
            }
        case .data:
            if reply.code == 354 {
                if transaction.isSettled {
                    // No recipient left to send to: end the data at once.
                    actions.append(.send(Array(".\r\n".utf8)))
                    expected.append(.abandonedData)
                } else {
                    transaction.content = .data(DotStuffer())
                    requestContent(&actions)
                }
            } else if reply.isPositive || reply.isIntermediate {
                violation(.unexpectedReply(reply.code), waitingFor: answered, &actions)
                return
            } else {
                transaction.settleRemaining(disposition, status: status, text: text)
            }
        case .abandonedData:
            transactionOpen = false
        case .dataEnd:
            transaction.settleRemaining(disposition, status: status, text: text)
            transactionOpen = false
        case .bdat(let last):
            if !reply.isPositive {
                // RFC 3030 §2: no further chunk; RSET before the next message.
                transaction.contentRefused = true
                transaction.settleRemaining(disposition, status: status, text: text)
            } else if last {
                transaction.settleRemaining(.delivered, status: status, text: text)
                transactionOpen = false
            } else if !transaction.pipelined && !readOutstanding && !transaction.contentRefused {
                self.transaction = transaction
                requestContent(&actions)
            }
        case .greeting, .ehlo, .helo, .startTLS, .rset, .quit:
            break
        }
        self.transaction = transaction
        advance(&actions)
    }

    /// Decides the next step once every reply asked for has come.
    mutating func advance(_ actions: inout [SMTPClientAction]) {
        guard stage == .transaction, expected.isEmpty, var transaction else { return }
        if transaction.isSettled {
            finish(&actions)
            return
        }
        if transaction.mailAccepted, !transaction.unsent.isEmpty {
            let index = transaction.unsent.removeFirst()
            self.transaction = transaction
            expected.append(.rcpt(index))
            let message = transaction.message
            send(.rcpt(to: message.recipients[index].address, parameters: rcptParameters(index, message)), &actions)
            return
        }
        guard !transaction.dataStarted, !transaction.accepted.isEmpty else { return }
        transaction.dataStarted = true
        if transaction.useBDAT {
            transaction.content = .bdat(BDATFramer())
            self.transaction = transaction
            requestContent(&actions)
        } else {
            self.transaction = transaction
            expected.append(.data)
            send(.data, &actions)
        }
    }

    /// Reports the settled message and moves on.
    mutating func finish(_ actions: inout [SMTPClientAction]) {
        guard let transaction else { return }
        self.transaction = nil
        if readOutstanding {
            readOutstanding = false
            // A read never issued has no answer to drop.
            if readDeferred {
                readDeferred = false
            } else {
                readsToDrop += 1
            }
        }
        report(transaction, attempted: true, &actions)
        stage = .idle
        waitChanged = true
        startNextMessage(&actions)
    }
}
