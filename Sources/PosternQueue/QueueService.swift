import Glibc
import Logging
import PosternCore
import PosternIPC
import PosternPrivilege

/// The queue's state: messages being uploaded, messages waiting, deliveries
/// in flight. Every mutation happens on `state`, one serial queue; commits
/// run on `committer`, which takes all pending commits at once so that
/// concurrent sessions share one directory fsync (group commit).
final class QueueService: @unchecked Sendable {
    let spool: Spool
    let logger: Logger
    let start: ChildStart
    let state = TaskQueue()
    let committer = TaskQueue()
    let peers = PeerChannels()

    /// Spool files handed to a listener and not yet committed: the queue's
    /// own descriptor (fsync happens through it) and the channel that asked,
    /// so that a listener's death aborts its uploads and no other's.
    var uploads: [QueueID: (fd: Int32, owner: ObjectIdentifier)] = [:]
    var messages: [QueueID: Envelope] = [:]
    var inFlight: [QueueID: InFlight] = [:]
    /// Recipients an earlier attempt may have delivered: their process
    /// died before it answered, or the queue itself restarted. Told so at
    /// the next attempt, local delivery looks for that copy before it
    /// writes another (exactly once into mailboxes). Not on disk: after a
    /// restart every recovered recipient is in doubt anyway.
    var maybeDelivered: [QueueID: Set<UInt32>] = [:]
    /// The spool's free bytes at the last measurement, and as last told to
    /// the listener (`SpoolSpace`).
    var spoolFree = UInt64.max
    var reportedSpoolFree = UInt64.max
    /// Messages whose notices are being resolved and written.
    var notifying: Set<QueueID> = []
    var pendingCommits: [(CommitRequest, Int32, UInt32, IPCChannel)] = []
    var commitRunning = false
    var draining = false
    /// The configuration in effect (a reload replaces it).
    var config: PosternConfig

    static let maxUploads = 1000
    static let maxInFlight = 200
    /// Deliveries one transport (local, relay) may have under way.
    static let maxPerTransport = 150
    /// Deliveries under way per transport.
    var transportLoad: [Role: Int] = [:]

    init(spool: Spool, logger: Logger, start: ChildStart) {
        self.spool = spool
        self.logger = logger
        self.start = start
        self.config = start.config
    }

    func recover() {
        let (found, problems) = spool.recover()
        for line in problems { logger.warning("\(line)") }
        for envelope in found {
            messages[envelope.queueID] = envelope
            let pending = envelope.recipients.indices.filter { envelope.recipients[$0].state == .pending }
            if !pending.isEmpty { maybeDelivered[envelope.queueID] = Set(pending.map { UInt32($0) }) }
        }
        logger.info("spool recovered, messages=\(found.count)")
    }

    func attach(_ role: Role, fd: Int32) {
        let channel = start.openPeer(
            role, fd: fd,
            onRequest: { [self] channel, frame in
                state.async { self.handle(frame, from: channel) }
            },
            onClose: { [self] channel in
                state.async { self.peerClosed(channel) }
            })
        peers.replace(role, with: channel)
        if role == .local { state.async { self.schedule() } }
        if role == .listener { state.async { self.measureSpoolSpace(forceReport: true) } }
    }

    func startTimer() {
        state.async { [self] in measureSpoolSpace() }
        state.every(1) { [self] in
            measureSpoolSpace()
            schedule()
        }
    }

    // MARK: requests from the listener

    func handle(_ frame: Frame, from channel: IPCChannel) {
        frame.descriptors.forEach { _ = close($0) }  // no request to the queue carries one
        switch frame.message {
        case .openMessage where channel.peer == .listener:
            openMessage(frame.requestID, channel)
        case .commitMessage(let request) where channel.peer == .listener:
            guard let upload = uploads[request.queueID], upload.owner == ObjectIdentifier(channel) else {
                reject(frame.requestID, channel, 451, "4.3.0", "Unknown message")
                return
            }
            uploads[request.queueID] = nil
            pendingCommits.append((request, upload.fd, frame.requestID, channel))
            runCommits()
        case .abortMessage(let id) where channel.peer == .listener:
            if let upload = uploads[id], upload.owner == ObjectIdentifier(channel) {
                uploads[id] = nil
                close(upload.fd)
                spool.abort(id)
                logger.info("aborted", metadata: ["qid": "\(id)"])
            }
        default:
            reject(frame.requestID, channel, 451, "4.3.0", "Unsupported queue request")
        }
    }

    private func reject(_ requestID: UInt32, _ channel: IPCChannel, _ code: Int, _ enhanced: String, _ text: String) {
        try? channel.respond(to: requestID, with: .rejected(ReplyStatus(code: code, enhanced: enhanced, text: text)))
    }

    private func openMessage(_ requestID: UInt32, _ channel: IPCChannel) {
        guard !draining, uploads.count < Self.maxUploads else {
            reject(requestID, channel, 451, "4.3.2", "Queue busy, try again later")
            return
        }
        guard spoolHasRoom else {
            try? channel.respond(to: requestID, with: .rejected(Self.insufficientStorage))
            return
        }
        do {
            let (id, fd) = try spool.createData()
            uploads[id] = (fd, ObjectIdentifier(channel))
            try channel.respond(to: requestID, with: .messageOpened(id), descriptors: [fd])
        } catch let error as SpoolError where error.isOutOfSpace {
            logger.error("cannot create a spool file: \(error)")
            try? channel.respond(to: requestID, with: .rejected(Self.insufficientStorage))
        } catch {
            logger.error("cannot create a spool file: \(error)")
            reject(requestID, channel, 451, "4.3.0", "Temporary queue failure")
        }
    }

    /// Takes every pending commit, makes them durable together, answers each.
    private func runCommits() {
        guard !commitRunning, !pendingCommits.isEmpty else { return }
        commitRunning = true
        let batch = pendingCommits
        pendingCommits.removeAll()
        committer.async { [self] in
            let now = Int64(time(nil))
            var envelopes: [(Envelope, Int32)] = []
            var invalid: [Int] = []
            for (i, (request, fd, _, _)) in batch.enumerated() {
                var st = stat()
                let size = fstat(fd, &st) == 0 ? Int64(st.st_size) : 0
                var envelope = Envelope(
                    queueID: request.queueID, sender: request.sender,
                    recipients: request.recipients.map {
                        Recipient(
                            address: $0.address, localUser: $0.localUser, notify: $0.notify,
                            originalRecipient: $0.originalRecipient)
                    },
                    arrival: now, clientAddress: request.clientAddress, clientHelo: request.clientHelo,
                    authUser: request.authUser, size: size, dsnReturn: request.dsnReturn,
                    envelopeID: request.envelopeID, bodyType: request.bodyType, smtputf8: request.smtputf8)
                if (try? envelope.validate()) == nil || envelope.recipients.isEmpty {
                    invalid.append(i)
                }
                DuplicateRecipients.mark(&envelope)
                envelopes.append((envelope, fd))
            }
            let valid = envelopes.enumerated().filter { !invalid.contains($0.offset) }.map(\.element)
            var results = spool.commit(batch: valid)[...]
            for (i, (request, fd, requestID, channel)) in batch.enumerated() {
                let envelope = envelopes[i].0
                let result: Result<Void, SpoolError>? = invalid.contains(i) ? nil : results.popFirst()
                close(fd)
                switch result {
                case .success:
                    try? channel.respond(to: requestID, with: .committed(request.queueID))
                    logger.info(
                        "queued, from=<\(envelope.sender)>, size=\(envelope.size), nrcpt=\(envelope.recipients.count), client=\(envelope.clientAddress)",
                        metadata: ["qid": "\(envelope.queueID)"])
                    for r in envelope.recipients {
                        guard let primary = r.duplicateOf else { continue }
                        logger.info(
                            "to=<\(r.address)>: same delivery as <\(envelope.recipients[primary].address)>, one copy",
                            metadata: ["qid": "\(envelope.queueID)"])
                    }
                    state.async { self.messages[envelope.queueID] = envelope }
                case .failure(let error):
                    logger.error("commit failed: \(error)", metadata: ["qid": "\(envelope.queueID)"])
                    spool.abort(envelope.queueID)
                    if error.isOutOfSpace {
                        try? channel.respond(to: requestID, with: .rejected(Self.insufficientStorage))
                    } else {
                        reject(requestID, channel, 451, "4.3.0", "Temporary queue failure")
                    }
                case nil:
                    logger.error("commit refused: invalid envelope", metadata: ["qid": "\(envelope.queueID)"])
                    spool.abort(envelope.queueID)
                    reject(requestID, channel, 554, "5.5.0", "Invalid envelope")
                }
            }
            state.async {
                self.commitRunning = false
                self.runCommits()
                self.schedule()
            }
        }
    }

    // MARK: peers going away

    private func peerClosed(_ channel: IPCChannel) {
        peers.remove(channel)
        switch channel.peer {
        case .listener:
            // Uploads of a listener that went away will never be committed.
            let owner = ObjectIdentifier(channel)
            for (id, upload) in uploads where upload.owner == owner {
                close(upload.fd)
                spool.abort(id)
                uploads[id] = nil
            }
        case .local:
            // Its pending requests have already failed (the channel fails
            // them before it reports the close), so those messages are
            // retried when a new local attaches; a recipient delivered but not
            // acknowledged may be delivered again (at-least-once).
            break
        default:
            break
        }
    }

    func drainAndExit(timeout: Int) {
        state.async { [self] in
            draining = true
            logger.info("draining, deliveries in flight=\(inFlight.count)")
            checkDrained(deadline: MonotonicClock.now() + Double(timeout))
        }
    }

    private func checkDrained(deadline: Double) {
        if inFlight.isEmpty && !commitRunning && pendingCommits.isEmpty || MonotonicClock.now() > deadline {
            logger.info("stopped")
            exit(0)
        }
        state.after(0.05) { self.checkDrained(deadline: deadline) }
    }
}
