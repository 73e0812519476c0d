/// Greeting, EHLO with HELO fallback, STARTTLS per policy, and the choice
/// of what to do next between messages.
extension SMTPClientStateMachine {
    mutating func greetingReply(_ reply: SMTPReply, _ actions: inout [SMTPClientAction]) {
        if reply.code == 220 {
            expected.append(.ehlo)
            send(.ehlo(settings.heloName), &actions)
        } else if reply.isPositive || reply.isIntermediate {
            violation(.unexpectedReply(reply.code), waitingFor: .greeting, &actions)
        } else {
            // RFC 5321 §3.1: after a 554 greeting the server waits for QUIT.
            abort(
                SessionFailure(
                    status: ResultTexts.status(for: reply, as: .deferred), text: texts.refusedToTalk(reply)),
                quit: reply.isPermanentFailure, &actions)
        }
    }

    mutating func ehloReply(_ reply: SMTPReply, _ actions: inout [SMTPClientAction]) {
        if reply.isPositive {
            capabilities = ServerCapabilities(ehloReply: reply)
            greeted(&actions)
        } else if reply.isPermanentFailure {
            // 500/502: an SMTP-only server (RFC 5321 §3.2).
            expected.append(.helo)
            send(.helo(settings.heloName), &actions)
        } else if reply.isTransientFailure {
            abort(deferral(reply, answering: .ehlo), quit: true, &actions)
        } else {
            violation(.unexpectedReply(reply.code), waitingFor: .ehlo, &actions)
        }
    }

    mutating func heloReply(_ reply: SMTPReply, _ actions: inout [SMTPClientAction]) {
        if reply.isPositive {
            capabilities = .none
            greeted(&actions)
        } else if reply.isIntermediate {
            violation(.unexpectedReply(reply.code), waitingFor: .helo, &actions)
        } else {
            abort(deferral(reply, answering: .helo), quit: true, &actions)
        }
    }

    /// After EHLO or HELO: STARTTLS if the policy wants it, else ready.
    private mutating func greeted(_ actions: inout [SMTPClientAction]) {
        if !tlsActive && settings.tlsPolicy.attemptsTLS {
            if capabilities.startTLS {
                expected.append(.startTLS)
                send(.startTLS, &actions)
                return
            }
            if settings.tlsPolicy.requiresTLS {
                let text = "TLS is required, but was not offered by host \(texts.host)"
                abort(SessionFailure(status: "4.7.4", text: text), quit: true, &actions)
                return
            }
        }
        stage = .idle
        startNextMessage(&actions)
    }

    mutating func startTLSReply(_ reply: SMTPReply, _ actions: inout [SMTPClientAction]) {
        if reply.code == 220 {
            guard !parser.hasBufferedInput else {
                violation(.inputAfterSTARTTLS, waitingFor: .startTLS, &actions)
                return
            }
            stage = .handshaking
            actions.append(.startTLS)
        } else if reply.isPositive || reply.isIntermediate {
            violation(.unexpectedReply(reply.code), waitingFor: .startTLS, &actions)
        } else if settings.tlsPolicy.requiresTLS {
            let text =
                "TLS is required, but host \(texts.host) refused STARTTLS: \(ResultTexts.quoted(reply))"
            abort(SessionFailure(status: "4.7.4", text: text), quit: true, &actions)
        } else {
            // Opportunistic: the session goes on in cleartext with what the
            // first EHLO offered (RFC 3207 §4: the server stays as it was).
            stage = .idle
            startNextMessage(&actions)
        }
    }

    mutating func tlsEstablished(_ actions: inout [SMTPClientAction]) {
        guard stage == .handshaking else { return }
        // RFC 3207 §4.2: forget everything learnt in cleartext and ask again.
        tlsActive = true
        parser = SMTPReplyParser(limits: settings.replyLimits)
        capabilities = .none
        stage = .opening
        expected = [.ehlo]
        send(.ehlo(settings.heloName), &actions)
    }

    mutating func tlsFailed(_ actions: inout [SMTPClientAction]) {
        guard stage == .handshaking else { return }
        let failure = SessionFailure(
            status: "4.7.5", text: "TLS handshake with host \(texts.host) failed",
            retryWithoutTLS: settings.tlsPolicy == .may)
        abort(failure, quit: false, &actions)
    }

    mutating func rsetReply(_ reply: SMTPReply, _ actions: inout [SMTPClientAction]) {
        guard case .resetting(let message) = stage else { return }
        if reply.isPositive {
            transactionOpen = false
            pending.insert(message, at: 0)
            stage = .idle
            startNextMessage(&actions)
        } else if reply.isIntermediate {
            violation(.unexpectedReply(reply.code), waitingFor: .rset, &actions)
        } else {
            abort(deferral(reply, answering: .rset), quit: false, &actions)
        }
    }

    /// Begins the next message, or QUITs when there is none and none will
    /// come. Messages refused before sending are reported on the spot, so
    /// this loops until something is sent or nothing is left.
    mutating func startNextMessage(_ actions: inout [SMTPClientAction]) {
        while stage == .idle {
            guard !pending.isEmpty else {
                if noMoreMessages {
                    sendQuit(&actions)
                } else {
                    waitChanged = true
                }
                return
            }
            let message = pending.removeFirst()
            if transactionOpen {
                stage = .resetting(message)
                expected.append(.rset)
                send(.rset, &actions)
                return
            }
            begin(message, &actions)
        }
    }

    mutating func enqueue(_ message: OutboundMessage, _ actions: inout [SMTPClientAction]) {
        switch stage {
        case .closed, .quitting:
            let failure =
                closingFailure
                ?? SessionFailure(
                    status: "4.4.2", text: "the connection to host \(texts.host) was closed before this message")
            reportDeferred(message, failure, &actions)
        case .idle:
            pending.append(message)
            startNextMessage(&actions)
        case .opening, .handshaking, .resetting, .transaction:
            pending.append(message)
        }
    }

    /// A 4xx or 5xx during the session's setup, as a deferral for every
    /// message: the host would not talk to us, another may.
    func deferral(_ reply: SMTPReply, answering command: Expectation) -> SessionFailure {
        SessionFailure(
            status: ResultTexts.status(for: reply, as: .deferred), text: texts.said(reply, inReplyTo: command.command))
    }
}
