import Glibc
import Logging
import NIOCore
import PosternCore
import PosternIPC
import SMTPProtocol

/// The I/O around one `SMTPServerStateMachine`: bytes from the socket go
/// in, and its actions are carried out here — replies written in order,
/// policy questions sent to lookup, the message streamed into the spool
/// descriptor the queue handed over, the commit asked of the queue. Answers
/// from other processes arrive on IPC threads and hop to this channel's
/// event loop before they touch the machine.
final class SMTPSessionHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// RFC 5321 §4.5.3.2: at least five minutes for a command.
    static let commandTimeout = 300

    private let server: SMTPServer
    private let services: PeerChannels
    private var logger: Logger
    private var machine: SMTPServerStateMachine?
    private var context: ChannelHandlerContext?
    private var clientAddress = "unknown"
    private var hasSlot = false
    private var spoolFD: Int32 = -1
    private var queueID: QueueID?
    private var spoolWriteFailed = false
    private var output: [UInt8] = []
    private var closing = false

    init(server: SMTPServer, services: PeerChannels, logger: Logger) {
        self.server = server
        self.services = services
        self.logger = logger
    }

    func channelActive(context: ChannelHandlerContext) {
        self.context = context
        clientAddress = context.remoteAddress?.ipAddress ?? "unknown"
        let config = server.config
        guard server.openSession() else {
            logger.warning("too many connections, client=\(clientAddress)")
            let reply = SMTPReply(
                code: 421, enhanced: "4.7.0", text: "\(config.myHostname) Too many connections, try again later")
            context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(bytes: reply.rendered)))
                .whenComplete { _ in context.close(promise: nil) }
            return
        }
        hasSlot = true
        logger.info("connect from \(clientAddress)")
        let settings = SMTPServerSettings(
            hostname: config.myHostname, greeting: config.expandedGreeting(date: RFC5322Date.now()),
            maxMessageSize: config.maxMessageSize, maxRecipients: config.maxRecipientsPerMessage,
            maxReceivedHeaders: config.maxHopCount)
        var m = SMTPServerStateMachine(settings: settings, clientAddress: clientAddress)
        let actions = m.start()
        machine = m
        perform(actions)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if spoolFD >= 0 || queueID != nil { abortSpool() }
        if hasSlot {
            hasSlot = false
            server.closeSession()
            logger.info("disconnect from \(clientAddress)")
        }
        machine = nil
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard var m = machine, !closing else { return }
        let buffer = unwrapInboundIn(data)
        let actions = buffer.withUnsafeReadableBytes { m.receive($0) }
        machine = m
        perform(actions)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent, var m = machine {
            logger.info("timeout, client=\(clientAddress)")
            let actions = m.timedOut()
            machine = m
            perform(actions)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        logger.info("connection error, client=\(clientAddress): \(error)")
        context.close(promise: nil)
    }

    // MARK: actions

    private func perform(_ actions: [SMTPServerAction]) {
        for action in actions {
            switch action {
            case .reply(let reply):
                output.append(contentsOf: reply.rendered)
            case .checkRecipient(let address):
                checkRecipient(address)
            case .openMessage:
                openMessage()
            case .writeMessageData(let bytes):
                writeSpool(bytes)
            case .commitMessage(let message):
                commit(message)
            case .abortMessage:
                abortSpool()
            case .close:
                closing = true
            }
        }
        flush()
    }

    private func flush() {
        guard let context else { return }
        if !output.isEmpty {
            let buffer = context.channel.allocator.buffer(bytes: output)
            output.removeAll(keepingCapacity: true)
            if closing {
                context.writeAndFlush(wrapOutboundOut(buffer)).whenComplete { _ in context.close(promise: nil) }
                return
            }
            context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
        } else if closing {
            context.close(promise: nil)
        }
    }

    /// Runs `body` on this channel's event loop with the machine, if the
    /// session still exists.
    private func resume(_ body: @escaping (inout SMTPServerStateMachine) -> [SMTPServerAction]) {
        guard let loop = context?.eventLoop else { return }
        loop.execute { [self] in
            guard var m = machine else { return }
            let actions = body(&m)
            machine = m
            perform(actions)
        }
    }

    private func checkRecipient(_ address: String) {
        guard let lookup = services.channel(.lookup) else {
            resume { $0.recipientChecked(.reject(Self.temporaryFailure("lookup"))) }
            return
        }
        lookup.request(.checkRecipient(address: address, client: clientAddress)) { [self] result in
            let verdict: RecipientVerdict
            switch result {
            case .success(let frame):
                switch frame.message {
                case .recipientAccepted(let user): verdict = .accept(localUser: user)
                case .rejected(let s):
                    verdict = .reject(SMTPReply(code: Int(s.code), enhanced: s.enhanced, text: s.text))
                    logger.info("reject: RCPT from \(clientAddress): \(s.code) \(s.enhanced) \(s.text)")
                default: verdict = .reject(Self.temporaryFailure("lookup"))
                }
            case .failure:
                verdict = .reject(Self.temporaryFailure("lookup"))
            }
            resume { $0.recipientChecked(verdict) }
        }
    }

    static func temporaryFailure(_ what: String) -> SMTPReply {
        SMTPReply(code: 451, enhanced: "4.3.0", text: "Temporary \(what) failure, try again later")
    }

    private func openMessage() {
        guard let queue = services.channel(.queue) else {
            resume { $0.messageOpened(queueID: nil, date: RFC5322Date.now()) }
            return
        }
        queue.request(.openMessage) { [self] result in
            guard case .success(let frame) = result, case .messageOpened(let id) = frame.message,
                let fd = frame.descriptors.first
            else {
                if case .success(let frame) = result { frame.descriptors.forEach { _ = close($0) } }
                resume { $0.messageOpened(queueID: nil, date: RFC5322Date.now()) }
                return
            }
            guard let loop = context?.eventLoop else {
                close(fd)
                try? queue.send(.abortMessage(id))
                return
            }
            loop.execute { [self] in
                guard var m = machine else {
                    close(fd)
                    try? queue.send(.abortMessage(id))
                    return
                }
                spoolFD = fd
                queueID = id
                spoolWriteFailed = false
                let actions = m.messageOpened(queueID: id.value, date: RFC5322Date.now())
                machine = m
                perform(actions)
            }
        }
    }

    /// The spool file is local and buffered by the kernel: a plain write.
    private func writeSpool(_ bytes: [UInt8]) {
        guard spoolFD >= 0, !spoolWriteFailed else { return }
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { write(spoolFD, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                logger.error("spool write failed: \(String(cString: strerror(errno)))")
                spoolWriteFailed = true
                return
            }
            offset += n
        }
    }

    private func commit(_ message: AcceptedMessage) {
        guard let id = queueID, let queue = services.channel(.queue), !spoolWriteFailed else {
            abortSpool()
            resume { $0.messageCommitted(.failure(Self.temporaryFailure("queue"))) }
            return
        }
        close(spoolFD)
        spoolFD = -1
        queueID = nil
        let request = CommitRequest(
            queueID: id, sender: message.sender,
            recipients: message.recipients.enumerated().map {
                DeliveryRecipient(
                    index: UInt32($0.offset), address: $0.element.address, localUser: $0.element.localUser)
            },
            clientAddress: clientAddress, clientHelo: message.helo, authUser: "")
        queue.request(.commitMessage(request)) { [self] result in
            let outcome: Result<Void, SMTPReply>
            switch result {
            case .success(let frame):
                switch frame.message {
                case .committed(let cid) where cid == id: outcome = .success(())
                case .rejected(let s):
                    outcome = .failure(SMTPReply(code: Int(s.code), enhanced: s.enhanced, text: s.text))
                default: outcome = .failure(Self.temporaryFailure("queue"))
                }
            case .failure:
                outcome = .failure(Self.temporaryFailure("queue"))
            }
            resume { $0.messageCommitted(outcome) }
        }
    }

    private func abortSpool() {
        if spoolFD >= 0 { close(spoolFD) }
        spoolFD = -1
        if let id = queueID { try? services.channel(.queue)?.send(.abortMessage(id)) }
        queueID = nil
    }
}

/// RFC 5322 dates, in the zone the process learned before its chroot.
enum RFC5322Date {
    static func now() -> String {
        var t = time(nil)
        var parts = tm()
        localtime_r(&t, &parts)
        var buffer = [CChar](repeating: 0, count: 64)
        let n = strftime(&buffer, 64, "%a, %d %b %Y %H:%M:%S %z", &parts)
        return String(decoding: buffer.prefix(n).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
