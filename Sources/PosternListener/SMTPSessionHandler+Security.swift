import Logging
import NIOCore
import PosternCore
import PosternIPC
import SMTPProtocol

/// STARTTLS, implicit TLS and the AUTH relay. The listener never sees a
/// password check: it forwards the client's SASL messages to the lookup,
/// which alone runs Cyrus SASL against the password store, and forwards
/// the lookup's challenges back.
extension SMTPSessionHandler {
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard case .handshakeCompleted(let info) = event as? TLSEvent else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        tlsInfo = info
        logger.info("TLS established, client=\(client.address): \(info)\(Self.peerCertificateNote(info))")
        if awaitingImplicitHandshake {
            awaitingImplicitHandshake = false
            checkClient(context, config: server.config)
            return
        }
        guard var m = machine else { return }
        let actions = m.tlsEstablished(description: info.description)
        machine = m
        perform(actions)
    }

    private static func peerCertificateNote(_ info: TLSSessionInfo) -> String {
        guard let subject = info.peerCertificateSubject else { return "" }
        return ", client certificate \(subject) (\(info.peerCertificateVerified ? "verified" : "not verified"))"
    }

    /// Puts TLS first in the pipeline. Called after the 220 was written, in
    /// the same event-loop turn, so every byte read from now on goes through
    /// OpenSSL; the machine has already dropped what was pipelined.
    func startTLS() {
        guard let context, let tls = server.tlsContext else {
            context?.close(promise: nil)
            return
        }
        do {
            try context.pipeline.syncOperations.addHandler(
                TLSServerHandler(context: tls, handshakeTimeout: .seconds(Int64(server.config.commandTimeout))),
                position: .first)
        } catch {
            logger.error("cannot start TLS, client=\(client.address): \(error)")
            context.close(promise: nil)
        }
    }

    /// The SASL mechanisms the lookup offers, asked once per process (and
    /// again after a reload); an unreachable lookup means no AUTH for this
    /// session, never a wrong list.
    func withMechanisms(_ body: @escaping @Sendable ([String]) -> Void) {
        if let known = server.mechanisms { return body(known) }
        ask(.lookup, .authMechanisms) { [self] result in
            var names: [String] = []
            if case .success(let frame) = result, case .mechanisms(let offered) = frame.message {
                names = offered
                server.mechanisms = offered
            }
            body(names)
        }
    }

    func startAuthentication(mechanism: String, initialResponse: [UInt8]?) {
        let exchange = server.nextAuthExchange()
        authExchange = exchange
        authMechanism = mechanism
        let start = AuthStart(
            exchange: exchange, mechanism: mechanism, initialResponse: initialResponse, client: client,
            tls: tlsInfo != nil)
        askLookup(.authStart(start))
    }

    func continueAuthentication(_ response: [UInt8]) {
        guard let exchange = authExchange else {
            resume { $0.authenticationStep(.failure(Self.authTemporaryFailure)) }
            return
        }
        askLookup(.authStep(exchange: exchange, response: response))
    }

    /// The client cancelled, or the session ended mid-exchange.
    func abortAuthentication() {
        guard let exchange = authExchange else { return }
        authExchange = nil
        services.channel(.lookup)?.request(.authAbort(exchange: exchange)) { _ in }
    }

    /// Seconds; the pause after a failure grows to this and stays.
    static let maxFailureDelay = 10

    private static let authTemporaryFailure = SMTPReply(
        code: 454, enhanced: "4.7.0", text: "Temporary authentication failure")

    private func askLookup(_ message: IPCMessage) {
        ask(.lookup, message) { [self] result in
            let step: AuthenticationStep
            switch result.map(\.message) {
            case .success(.authChallenge(let challenge)): step = .challenge(challenge)
            case .success(.authSucceeded(let user)): step = .success(user: user)
            case .success(.rejected(let status)): step = .failure(status)
            default: step = .failure(Self.authTemporaryFailure)
            }
            finishStep(step)
        }
    }

    /// A success is logged and remembered for the lookup's later checks; a
    /// failure is answered only after a pause that grows with the client
    /// address's failures (across its sessions: reconnecting does not reset
    /// it), so guessing passwords costs time, and `AuthMaxFailures` in one
    /// session ends it. On the event loop.
    private func finishStep(_ step: AuthenticationStep) {
        guard machine != nil else { return }
        switch step {
        case .challenge:
            advance { $0.authenticationStep(step) }
        case .success(let user):
            authExchange = nil
            server.recordAuthSuccess(client.address)
            client.authenticatedUser = user
            logger.info(
                "authenticated, client=\(client.address), mechanism=\(authMechanism), user=\(user)")
            advance { $0.authenticationStep(step) }
        case .failure(let reply):
            authExchange = nil
            rejectionLogged = reply
            logger.info("authentication failed, client=\(client.address), mechanism=\(authMechanism): \(reply.code)")
            let failures = server.recordAuthFailure(client.address)
            let delay = Int64(min(failures, Self.maxFailureDelay))
            eventLoop.scheduleTask(in: .seconds(delay)) { [self] in
                advance { $0.authenticationStep(step) }
            }
        }
    }
}
