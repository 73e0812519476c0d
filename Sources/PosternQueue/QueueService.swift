import Glibc
import Logging
import PosternCore
import PosternIPC
import PosternPrivilege

/// The queue process's driver: it runs `QueueMachine` on `state`, one
/// serial queue, and carries out its actions — IPC requests and answers,
/// spool calls, log lines. Everything the machine owns is touched only from
/// work items on `state`, through `feed`. Commits run on `committer`, which
/// takes all pending commits at once so that concurrent sessions share one
/// directory fsync (group commit); their outcome comes back as an event.
final class QueueService: @unchecked Sendable {
    let spool: Spool
    let logger: Logger
    let start: ChildStart
    let state = TaskQueue()
    let committer = TaskQueue()
    let peers = PeerChannels()

    /// Owned by `state`.
    private var machine: QueueMachine
    /// Events that arrived while the machine was busy with another (an
    /// action's immediate outcome): handled next, in order, in the same turn.
    private var queued: [QueueEvent] = []
    private var feeding = false

    init(spool: Spool, logger: Logger, start: ChildStart) {
        self.spool = spool
        self.logger = logger
        self.start = start
        self.machine = QueueMachine(settings: QueueSettings(start.config))
    }

    /// Hands one event to the machine and performs what it asks. Runs on `state`.
    func feed(_ event: QueueEvent) {
        queued.append(event)
        guard !feeding else { return }
        feeding = true
        var next = 0
        while next < queued.count {
            let event = queued[next]
            next += 1
            for action in machine.handle(event, now: Int64(time(nil))) { perform(action) }
        }
        queued.removeAll(keepingCapacity: true)
        feeding = false
    }

    // MARK: the process's life

    /// Reads the spool before the queue says it is ready.
    func recover() {
        let (found, problems) = spool.recover()
        state.run { [self] in feed(.recovered(found, problems: problems)) }
    }

    func attach(_ role: Role, fd: Int32) {
        let channel = start.openPeer(
            role, fd: fd,
            onRequest: { [self] channel, frame in
                state.async { self.handle(frame, from: channel) }
            },
            onClose: { [self] channel in
                state.async {
                    self.peers.remove(channel)
                    self.feed(.peerClosed(channel.peer, Handle(channel)))
                }
            })
        peers.replace(role, with: channel)
        state.async { self.feed(.peerAttached(role, Handle(channel))) }
    }

    func reload(_ config: PosternConfig) {
        state.async { self.feed(.reloaded(QueueSettings(config))) }
    }

    func startTimer() {
        state.async { [self] in measureSpoolSpace(forceReport: false) }
        state.every(1) { [self] in
            measureSpoolSpace(forceReport: false)
            feed(.tick)
        }
    }

    func drainAndExit(timeout: Int) {
        state.async { [self] in
            let deadline = MonotonicClock.now() + Double(timeout)
            feed(.drainRequested)
            pollDrained(deadline: deadline)
        }
    }

    private func pollDrained(deadline: Double) {
        state.after(0.05) { [self] in
            feed(.drainCheck(deadlinePassed: MonotonicClock.now() > deadline))
            pollDrained(deadline: deadline)
        }
    }

    // MARK: requests from the listener

    private func handle(_ frame: Frame, from channel: IPCChannel) {
        frame.descriptors.forEach { _ = close($0) }  // no request to the queue carries one
        let requester = Requester(peer: Handle(channel), requestID: frame.requestID)
        switch frame.message {
        case .openMessage where Self.bringsMessages(channel.peer):
            feed(.openRequested(requester))
        case .commitMessage(let request) where Self.bringsMessages(channel.peer):
            feed(.commitRequested(Self.stamped(request, from: channel.peer), requester))
        case .abortMessage(let id) where Self.bringsMessages(channel.peer):
            feed(.abortRequested(id, from: requester.peer))
        default:
            feed(.unsupportedRequest(requester))
        }
    }

    /// The listener (SMTP) and submit (the sendmail command).
    private static func bringsMessages(_ peer: Role) -> Bool { peer == .listener || peer == .submit }

    /// Where a message came from is the edge it came on, never the
    /// sender's word: submit's commits are "local", and a listener that
    /// claims "local" (or recipients that already failed) is not believed.
    static func stamped(_ request: CommitRequest, from peer: Role) -> CommitRequest {
        var request = request
        if peer == .submit {
            request.clientAddress = CommitRequest.localClient
        } else {
            if request.clientAddress == CommitRequest.localClient { request.clientAddress = "unknown" }
            // Only submit commits recipients that already failed.
            for i in request.recipients.indices {
                request.recipients[i].state = .pending
                request.recipients[i].lastResult = ""
            }
        }
        return request
    }

    // MARK: actions

    private func perform(_ action: QueueAction) {
        switch action {
        case .log(let line):
            log(line)
        case .persist(let envelope, let durable):
            do {
                try spool.update(envelope, durable: durable)
            } catch {
                logger.error("cannot update control file: \(error)", metadata: ["qid": "\(envelope.queueID)"])
            }
        case .remove(let id):
            spool.remove(id)
        case .dispatch(let order):
            dispatch(order)
        case .lookUp(let address, let tag):
            lookUp(address, tag)
        case .writeNotice(let order):
            feed(.noticeWritten(tag: order.tag, writeNotice(order)))
        case .reject(let requester, let status):
            try? (requester.peer.object as? IPCChannel)?.respond(to: requester.requestID, with: .rejected(status))
        case .createSpoolFile(let requester):
            do {
                let created = try spool.createData()
                feed(.spoolFileCreated(requester, .success(created)))
            } catch {
                feed(.spoolFileCreated(requester, .failure(error)))
            }
        case .handOver(let requester, let id, let fd):
            handOver(requester, id, fd)
        case .commit(let batch):
            commit(batch)
        case .discardUpload(let id, let fd):
            close(fd)
            spool.abort(id)
        case .measureSpoolSpace(let forceReport):
            measureSpoolSpace(forceReport: forceReport)
        case .reportSpoolSpace(let free):
            guard let listener = peers.channel(.listener) else { return }
            if (try? listener.send(.spoolSpace(freeBytes: free))) != nil { feed(.spoolSpaceReported(freeBytes: free)) }
        case .answer(let reply, let text):
            (reply.object as? ControlReply)?.deliver(text)
        case .exit:
            exit(0)
        }
    }

    func log(_ line: QueueLogLine) {
        if let id = line.queueID {
            logger.log(level: line.level, "\(line.text)", metadata: ["qid": "\(id)"])
        } else {
            logger.log(level: line.level, "\(line.text)")
        }
    }

    private func measureSpoolSpace(forceReport: Bool) {
        guard let free = spool.freeBytes() else { return }
        feed(.spoolSpaceMeasured(freeBytes: free, forceReport: forceReport))
    }

    /// The new spool file's descriptor goes to the listener that asked; the
    /// queue keeps its own.
    private func handOver(_ requester: Requester, _ id: QueueID, _ fd: Int32) {
        guard let channel = requester.peer.object as? IPCChannel else { return }
        do {
            try channel.respond(to: requester.requestID, with: .messageOpened(id), descriptors: [fd])
        } catch {
            // The listener is gone; its uploads go when its channel's end is seen.
            logger.error("cannot create a spool file: \(error)")
            try? channel.respond(to: requester.requestID, with: .rejected(QueueMachine.temporaryFailure))
        }
    }

    // MARK: deliveries and the lookup

    /// One read-only descriptor of the message for every part. A part
    /// whose process is gone by now fails as a request to it would.
    private func dispatch(_ order: DispatchOrder) {
        let id = order.queueID
        let fd: Int32
        do {
            fd = try spool.openDataReadOnly(id)
        } catch {
            return feed(.messageDataUnreadable(id, error))
        }
        defer { close(fd) }
        for part in order.parts {
            let role = part.role
            let done: IPCChannel.Completion = { [self] result in
                let answer = Self.deliveryAnswer(result, for: id)
                state.async { self.feed(.partFinished(id, role, answer)) }
            }
            guard let channel = peers.channel(role) else {
                done(.failure(.closed))
                continue
            }
            channel.request(.deliver(part.job), descriptors: [fd], completion: done)
        }
    }

    private static func deliveryAnswer(_ result: Result<Frame, IPCError>, for id: QueueID) -> DeliveryAnswer {
        switch result.map(\.message) {
        case .success(.deliveryResult(let rid, let list)) where rid == id: return .outcomes(list)
        case .success(.rejected(let status)): return .rejected(status)
        case .success: return .nonsense
        case .failure: return .channelLost
        }
    }

    /// As a RCPT from a client that may relay would be asked.
    private func lookUp(_ address: String, _ tag: LookupTag) {
        let done: IPCChannel.Completion = { [self] result in
            let answer = Self.lookupAnswer(result)
            state.async { self.feed(.lookedUp(tag, answer)) }
        }
        guard let lookup = peers.channel(.lookup) else { return done(.failure(.closed)) }
        let client = ClientContext(address: "127.0.0.1", hostname: "localhost", authenticatedUser: "MAILER-DAEMON")
        lookup.request(.checkRecipient(address: address, client: client), completion: done)
    }

    private static func lookupAnswer(_ result: Result<Frame, IPCError>) -> LookupAnswer {
        switch result.map(\.message) {
        case .success(.recipientAccepted(let user)): return .local(user: user)
        case .success(.recipientRemote(let routed, _)): return .remote(address: routed)
        case .success(.rejected(let status)) where status.code >= 500:
            return .refused("\(status.code) \(status.enhanced) \(status.text)")
        default: return .unavailable
        }
    }
}
