import Glibc
import Logging
import NIOCore
import PosternCore
import PosternIPC
import SMTPProtocol

/// The I/O around one `SMTPServerStateMachine`: bytes from the socket go
/// in, and its actions are carried out here — replies written in order,
/// policy questions sent to lookup, the message streamed into the spool
/// descriptor the queue handed over, the commit asked of the queue.
///
/// Threads: everything here runs on the channel's event loop. Answers from
/// other processes arrive on an IPC reader thread; each completion hops to
/// `eventLoop` (a `let`, the one thing it may read there) first thing, and
/// only then touches the session. While the machine waits for an
/// answer the socket is not read (backpressure), so a pipelining client can
/// never make the session buffer without bound; nor while the replies
/// already written wait in the channel above its high-water mark, so a
/// client that pipelines and never reads its replies stalls itself, not
/// the listener's memory.
final class SMTPSessionHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let server: SMTPServer
    let services: PeerChannels
    let logger: Logger
    /// What the socket speaks (STARTTLS offered, AUTH required, TLS first).
    let kind: ListenKind
    /// The channel's event loop, known when the handler is made: set before
    /// any request can be sent and never changed, so IPC completions can
    /// read it from their thread (unlike `context`, which the loop clears
    /// when the connection ends).
    let eventLoop: EventLoop
    var machine: SMTPServerStateMachine?
    var context: ChannelHandlerContext?
    var client = ClientContext(address: "unknown")
    /// The AUTH exchange at the lookup, if one is under way.
    var authExchange: UInt64?
    var authMechanism = ""
    /// Implicit TLS: the greeting waits for the handshake.
    var awaitingImplicitHandshake = false
    var tlsInfo: TLSSessionInfo?
    /// Plaintext that arrived before the greeting; see `channelRead`.
    private var earlyInput: [UInt8] = []
    private static let maxEarlyInput = 4096
    private var admitted = false
    /// Counted toward the total only (this host, or a client the access
    /// map trusts): see `ConnectionLimiter`.
    private var limitExempt = false
    private var discardAll = false
    private var discardCurrent = false
    private var spoolFD: Int32 = -1
    private var queueID: QueueID?
    /// The errno of a failed spool write, answered at the end of the message.
    private var spoolWriteError: Int32?
    private var output: [UInt8] = []
    private var closing = false
    private var timer: Scheduled<Void>?
    /// A refusal already logged with its cause (the lookup's MAIL, RCPT or
    /// connect verdict, an AUTH failure): its reply is not logged again.
    var rejectionLogged: SMTPReply?
    /// The greeting was a refusal: the 503 each later command gets is not
    /// logged (one `reject:` line per refused client, as for the others).
    private var refusedAtConnect = false
    /// The channel starts with autoRead off (SMTPServer).
    private var readPaused = true

    init(server: SMTPServer, services: PeerChannels, logger: Logger, kind: ListenKind, eventLoop: EventLoop) {
        self.server = server
        self.services = services
        self.logger = logger
        self.kind = kind
        self.eventLoop = eventLoop
    }

    // MARK: connection

    func channelActive(context: ChannelHandlerContext) {
        self.context = context
        client.address = context.remoteAddress?.ipAddress ?? "unknown"
        let config = server.config
        let (admission, exempt) = server.openSession(for: client.address)
        limitExempt = exempt
        switch admission {
        case .admitted:
            admitted = true
        case .tooManyConnections:
            refuse(context, "421 4.7.0 \(config.myHostname) Too many connections, try again later")
            return
        case .tooManyFromClient:
            refuse(context, "421 4.7.0 \(config.myHostname) Too many connections from your address")
            return
        case .tooFast:
            refuse(context, "421 4.7.0 \(config.myHostname) Connection rate limit exceeded, slow down")
            return
        }
        logger.info("connect from \(client.address)")
        pauseReading(context)
        armTimer(seconds: config.commandTimeout)
        if kind.implicitTLS {
            // The greeting goes out under TLS; checkClient follows the handshake.
            awaitingImplicitHandshake = true
            return
        }
        checkClient(context, config: config)
    }

    /// Asks the lookup about the client (and, once per process, which SASL
    /// mechanisms there are), then greets.
    func checkClient(_ context: ChannelHandlerContext, config: PosternConfig) {
        ask(.lookup, .checkClient(client)) { [self] result in
            guard let context = self.context else { return }
            guard case .success(let frame) = result, case .clientVerdict(let verdict) = frame.message else {
                refuse(context, "421 4.3.0 \(config.myHostname) Service temporarily unavailable")
                return
            }
            if admitted {
                limitExempt = server.learnTrust(
                    of: client.address, trusted: verdict.trusted, sessionExempt: limitExempt)
            }
            withMechanisms { [self] mechanisms in
                guard let context = self.context else { return }
                begin(context, verdict: verdict, config: config, mechanisms: mechanisms)
            }
        }
    }

    /// The lookup has judged the client: greet it (or refuse it in the
    /// greeting) and start reading.
    private func begin(
        _ context: ChannelHandlerContext, verdict: ClientVerdict, config: PosternConfig, mechanisms: [String]
    ) {
        client.hostname = verdict.hostname
        discardAll = verdict.action == .discard
        let settings = SMTPServerSettings(
            hostname: config.myHostname, greeting: config.expandedGreeting(date: RFC5322Date.now()),
            maxMessageSize: config.maxMessageSize, maxRecipients: config.maxRecipientsPerMessage,
            maxErrors: config.maxErrorsPerSession, maxReceivedHeaders: config.maxHopCount,
            maxPendingInput: 256 << 10,
            privacy: config.privacyOptions, bareLineEndings: config.bareLineEndings,
            commandTimeout: config.commandTimeout, dataTimeout: config.dataBlockTimeout,
            protocolFlags: (tls: tlsInfo != nil, authenticated: false),
            startTLSAvailable: server.tlsContext != nil && !kind.implicitTLS, authMechanisms: mechanisms,
            authAllowCleartext: config.security.authAllowCleartext, authRequired: kind.requiresAuthentication,
            maxAuthFailures: config.security.authMaxFailures, tlsDescription: tlsInfo?.description,
            masquerader: server.masquerader)
        var m = SMTPServerStateMachine(settings: settings, clientAddress: client.address)
        if verdict.action == .reject {
            logger.info(
                "reject: CONNECT from \(client.address): \(verdict.status.code) \(verdict.status.enhanced) \(verdict.status.text)"
            )
            rejectionLogged = verdict.status
            refusedAtConnect = true
        }
        var actions = m.start(rejection: verdict.action == .reject ? verdict.status : nil)
        if !earlyInput.isEmpty {
            actions += m.receive(earlyInput)
            earlyInput = []
        }
        machine = m
        perform(actions)
    }

    func refuse(_ context: ChannelHandlerContext, _ line: String) {
        logger.info("refused \(client.address): \(line)")
        closing = true
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(string: line + "\r\n")))
            .whenComplete { _ in channel.close(promise: nil) }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if spoolFD >= 0 || queueID != nil { abortSpool() }
        abortAuthentication()
        timer?.cancel()
        if admitted {
            admitted = false
            server.closeSession(for: client.address, exempt: limitExempt)
            logger.info("disconnect from \(client.address)")
        }
        machine = nil
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !closing else { return }
        var buffer = unwrapInboundIn(data)
        guard var m = machine else {
            // Only TLS can hand us bytes before the greeting (they came with
            // the client's last handshake flight): kept, bounded, and read
            // after the greeting like pipelined commands.
            guard earlyInput.count + buffer.readableBytes <= Self.maxEarlyInput else {
                refuse(context, "421 4.7.0 \(server.config.myHostname) Error: too much input before the greeting")
                return
            }
            earlyInput += buffer.readBytes(length: buffer.readableBytes) ?? []
            return
        }
        let actions = buffer.withUnsafeReadableBytes { m.receive($0) }
        machine = m
        perform(actions)
    }

    /// The client has read enough of its replies: take its input again,
    /// unless the machine is waiting for another process.
    func channelWritabilityChanged(context: ChannelHandlerContext) {
        guard context.channel.isWritable, let m = machine, !closing, !m.isWaiting else { return }
        resumeReading(context)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        logger.info("connection error, client=\(client.address): \(error)")
        context.close(promise: nil)
    }

    // MARK: reading and timeouts

    private func pauseReading(_ context: ChannelHandlerContext) {
        guard !readPaused else { return }
        readPaused = true
        try? context.channel.syncOptions?.setOption(.autoRead, value: false)
    }

    private func resumeReading(_ context: ChannelHandlerContext) {
        guard readPaused else { return }
        readPaused = false
        try? context.channel.syncOptions?.setOption(.autoRead, value: true)
        context.read()
    }

    /// RFC 5321 §4.5.3.2: the machine says how long the current state may wait.
    private func armTimer(seconds: Int) {
        timer?.cancel()
        guard context != nil else { return }
        timer = eventLoop.scheduleTask(in: .seconds(Int64(seconds))) { [self] in
            guard var m = machine else {
                self.context?.close(promise: nil)
                return
            }
            logger.info("timeout, client=\(client.address)")
            let actions = m.timedOut()
            machine = m
            perform(actions)
        }
    }

    // MARK: actions

    func perform(_ actions: [SMTPServerAction]) {
        for action in actions {
            switch action {
            case .reply(let reply):
                logRefusal(reply)
                output.append(contentsOf: reply.rendered)
            case .checkSender(let address, let size):
                checkSender(address, declaredSize: size)
            case .checkRecipient(let address):
                checkRecipient(address)
            case .openMessage:
                openMessage()
            case .writeMessageData(let bytes):
                writeSpool(bytes)
            case .commitMessage(let message):
                commit(message)
            case .abortMessage:
                if discardCurrent, let id = queueID {
                    logger.info("discarded by policy, client=\(client.address)", metadata: ["qid": "\(id)"])
                }
                abortSpool()
            case .close:
                closing = true
            case .startTLS:
                // The 220 leaves in cleartext, then TLS goes in front of us.
                flush()
                startTLS()
            case .authStart(let mechanism, let initialResponse):
                startAuthentication(mechanism: mechanism, initialResponse: initialResponse)
            case .authContinue(let response):
                continueAuthentication(response)
            case .authAbort:
                abortAuthentication()
            }
        }
        flush()
        guard let context, let m = machine else { return }
        if m.isWaiting || !context.channel.isWritable {
            pauseReading(context)
        } else {
            resumeReading(context)
        }
        if !closing { armTimer(seconds: m.currentTimeout) }
    }

    /// A 4xx or 5xx the session answers on its own (protocol errors, bare
    /// line endings, size, too many errors, timeouts) gets a `reject: SMTP`
    /// line, so that `postern log` can count every refusal a client saw.
    private func logRefusal(_ reply: SMTPReply) {
        guard reply.code >= 400 else { return }
        if let logged = rejectionLogged, logged == reply {
            rejectionLogged = nil
            return
        }
        guard !refusedAtConnect else { return }
        logger.info("reject: SMTP from \(client.address): \(reply.code) \(reply.enhanced) \(reply.text)")
    }

    private func flush() {
        guard let context else { return }
        if !output.isEmpty {
            let buffer = context.channel.allocator.buffer(bytes: output)
            output.removeAll(keepingCapacity: true)
            if closing {
                let channel = context.channel
                context.writeAndFlush(wrapOutboundOut(buffer)).whenComplete { _ in channel.close(promise: nil) }
                // A client that does not read would hold the last reply,
                // and the connection, forever.
                if !context.channel.isWritable { context.close(promise: nil) }
                return
            }
            context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
        } else if closing {
            context.close(promise: nil)
        }
    }

    /// Runs `body` with the machine on this channel's event loop, later: from
    /// `perform` (which must finish its own actions first) and from other
    /// threads.
    func resume(_ body: @escaping @Sendable (inout SMTPServerStateMachine) -> [SMTPServerAction]) {
        eventLoop.execute { [self] in advance(body) }
    }

    /// Runs `body` with the machine now, if the session still exists, and
    /// carries out its actions. On the event loop only, outside `perform`.
    func advance(_ body: (inout SMTPServerStateMachine) -> [SMTPServerAction]) {
        eventLoop.assertInEventLoop()
        guard var m = machine else { return }
        let actions = body(&m)
        machine = m
        perform(actions)
    }

    static func temporaryFailure(_ what: String) -> SMTPReply {
        SMTPReply(code: 451, enhanced: "4.3.0", text: "Temporary \(what) failure, try again later")
    }

    private func checkSender(_ address: String, declaredSize: Int?) {
        discardCurrent = discardAll
        // Refused before the client sends a message the spool cannot hold.
        if server.spoolTooFull(forMessageOf: declaredSize) {
            logger.warning("refused MAIL from \(client.address): the spool is short of space (QueueMinFree)")
            resume { $0.senderChecked(.reject(Self.insufficientStorage)) }
            return
        }
        ask(.lookup, .checkSender(address: address, client: client)) { [self] result in senderChecked(result) }
    }

    static let insufficientStorage = SMTPReply(code: 452, enhanced: "4.3.1", text: "Insufficient system storage")

    /// The lookup's answer to MAIL, on the event loop.
    private func senderChecked(_ result: Result<Frame, IPCError>) {
        let verdict: SenderVerdict
        switch result.map(\.message) {
        case .success(.accepted): verdict = discardAll ? .discard : .accept
        case .success(.discarded): verdict = .discard
        case .success(.rejected(let s)):
            verdict = .reject(s)
            rejectionLogged = s
            logger.info("reject: MAIL from \(client.address): \(s.code) \(s.enhanced) \(s.text)")
        default: verdict = .reject(Self.temporaryFailure("lookup"))
        }
        advance { [self] in
            if case .discard = verdict { discardCurrent = true }
            return $0.senderChecked(verdict)
        }
    }

    private func checkRecipient(_ address: String) {
        ask(.lookup, .checkRecipient(address: address, client: client)) { [self] result in recipientChecked(result) }
    }

    /// The lookup's answer to RCPT, on the event loop.
    private func recipientChecked(_ result: Result<Frame, IPCError>) {
        let verdict: RecipientVerdict
        switch result.map(\.message) {
        case .success(.recipientAccepted(let user)): verdict = .accept(localUser: user)
        case .success(.recipientRemote(let address, _)): verdict = .relay(address: address)
        case .success(.discarded): verdict = .discard
        case .success(.rejected(let s)):
            verdict = .reject(s)
            rejectionLogged = s
            logger.info("reject: RCPT from \(client.address): \(s.code) \(s.enhanced) \(s.text)")
        default: verdict = .reject(Self.temporaryFailure("lookup"))
        }
        advance { [self] in
            if case .discard = verdict { discardCurrent = true }
            return $0.recipientChecked(verdict)
        }
    }

    private func openMessage() {
        ask(.queue, .openMessage) { [self] result in messageOpened(result) }
    }

    /// The queue's spool file for this message (or its refusal), on the
    /// event loop. A descriptor that arrives after the session ended is
    /// closed and its message given back.
    private func messageOpened(_ result: Result<Frame, IPCError>) {
        guard case .success(let frame) = result, case .messageOpened(let id) = frame.message,
            let fd = frame.descriptors.first
        else {
            var refusal: SMTPReply?
            if case .success(let frame) = result {
                frame.descriptors.forEach { _ = close($0) }
                if case .rejected(let status) = frame.message { refusal = status }
            }
            advance { $0.messageOpened(queueID: nil, date: RFC5322Date.now(), refusal: refusal) }
            return
        }
        guard machine != nil else {
            close(fd)
            try? services.channel(.queue)?.send(.abortMessage(id))
            return
        }
        spoolFD = fd
        queueID = id
        spoolWriteError = nil
        advance { $0.messageOpened(queueID: id.value, date: RFC5322Date.now()) }
    }

    /// The spool file is local and buffered by the kernel: a plain write.
    /// A failure is remembered and answered at the end of the message (the
    /// client is still sending it): 452 4.3.1 for a full file system.
    private func writeSpool(_ bytes: [UInt8]) {
        guard spoolFD >= 0, spoolWriteError == nil else { return }
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { write(spoolFD, $0.baseAddress, $0.count) }
            if n < 0 {
                let code = errno
                if code == EINTR { continue }
                logger.error(
                    "spool write failed: \(String(cString: strerror(code))), client=\(client.address)",
                    metadata: queueID.map { ["qid": "\($0)"] } ?? [:])
                spoolWriteError = code
                return
            }
            offset += n
        }
    }

    private func commit(_ message: AcceptedMessage) {
        if let code = spoolWriteError {
            abortSpool()
            let full = code == ENOSPC || code == EDQUOT
            resume { $0.messageCommitted(.failure(full ? Self.insufficientStorage : Self.temporaryFailure("queue"))) }
            return
        }
        guard let id = queueID else {
            abortSpool()
            resume { $0.messageCommitted(.failure(Self.temporaryFailure("queue"))) }
            return
        }
        close(spoolFD)
        spoolFD = -1
        queueID = nil
        let request = CommitRequest(
            queueID: id, sender: server.masquerader?.rewrite(envelopeSender: message.sender) ?? message.sender,
            recipients: message.recipients.map {
                Recipient(
                    address: $0.address, localUser: $0.localUser, notify: $0.notify ?? [],
                    originalRecipient: $0.orcpt ?? "")
            },
            clientAddress: client.address, clientHelo: message.helo, authUser: client.authenticatedUser,
            dsnReturn: message.ret, envelopeID: message.envid ?? "", bodyType: message.body,
            smtputf8: message.smtputf8)
        ask(.queue, .commitMessage(request)) { [self] result in
            let outcome: Result<Void, SMTPReply>
            switch result.map(\.message) {
            case .success(.committed(let cid)) where cid == id:
                // The listener's line about the message: who sent it, under the queue id.
                let messageID = message.messageID.map { ", message-id=\($0)" } ?? ""
                logger.info(
                    "accepted, client=\(client.address), helo=<\(message.helo)>\(messageID)", metadata: ["qid": "\(id)"]
                )
                outcome = .success(())
            case .success(.rejected(let s)): outcome = .failure(s)
            default: outcome = .failure(Self.temporaryFailure("queue"))
            }
            advance { $0.messageCommitted(outcome) }
        }
    }

    private func abortSpool() {
        if spoolFD >= 0 { close(spoolFD) }
        spoolFD = -1
        if let id = queueID { try? services.channel(.queue)?.send(.abortMessage(id)) }
        queueID = nil
    }
}
