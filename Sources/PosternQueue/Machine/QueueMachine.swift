import PosternCore
import PosternIPC

/// The queue as a state machine: every message, every delivery under way,
/// every notice being written, and every decision about them — with no
/// I/O, no clock, no log and no thread of its own. Events go in
/// (`QueueEvent`: a commit, a delivery's outcomes, a lookup's answer, a
/// tick, a control command…), actions come out (`QueueAction`: persist,
/// dispatch, ask the lookup, write a notice, answer, log…), in the manner
/// of `SMTPServerStateMachine`. `QueueService` runs it on its one serial
/// queue and carries the actions out, so each decision can be tested as a
/// transcript (Tests/PosternQueueTests/QueueMachine*Tests.swift).
///
/// An action that needs I/O before the machine can go on (a lookup, a
/// notice written) is answered by an event carrying a tag; the work it
/// belongs to waits here meanwhile (`notices`, `routings`).
struct QueueMachine {
    var settings: QueueSettings
    let limits: QueueLimits

    /// Every message in the spool.
    var messages: [QueueID: Envelope] = [:]
    /// Messages with deliveries under way.
    var inFlight: [QueueID: InFlight] = [:]
    /// Recipients an earlier attempt may have delivered: their process
    /// died before it answered, or the queue itself restarted. Told so at
    /// the next attempt, local delivery looks for that copy before it
    /// writes another (exactly once into mailboxes). Not on disk: after a
    /// restart every recovered recipient is in doubt anyway.
    var maybeDelivered: [QueueID: Set<UInt32>] = [:]
    /// Messages whose notices are being resolved and written.
    var notifying: Set<QueueID> = []
    /// Deliveries under way per transport.
    var transportLoad: [Role: Int] = [:]
    /// Spool files handed to a listener and not yet committed: the queue's
    /// own descriptor (fsync happens through it) and the channel that
    /// asked, so that a listener's death aborts its uploads and no other's.
    var uploads: [QueueID: Upload] = [:]
    /// Commits waiting for the committer, which takes them all at once.
    var pendingCommits: [PendingCommit] = []
    var commitRunning = false
    var draining = false
    /// The spool's free bytes at the last measurement, and as last told to
    /// the listener.
    var spoolFree = UInt64.max
    var reportedSpoolFree = UInt64.max
    /// The current channel to each peer role.
    var peers: [Role: Handle] = [:]
    /// Notices waiting for the lookup or for the spool, by tag.
    var notices: [UInt64: NoticeTask] = [:]
    /// Expansions waiting for the lookup to route their remote members.
    var routings: [UInt64: ExpansionRouting] = [:]
    var nextTag: UInt64 = 1

    init(settings: QueueSettings, limits: QueueLimits = QueueLimits()) {
        self.settings = settings
        self.limits = limits
    }

    /// One event in, the actions it takes out. `now` is the wall clock in
    /// seconds since the epoch, for arrivals, retries and expiry.
    mutating func handle(_ event: QueueEvent, now: Int64) -> [QueueAction] {
        var actions: [QueueAction] = []
        switch event {
        case .recovered(let found, let problems):
            recovered(found, problems: problems, &actions)
        case .spoolSpaceMeasured(let free, let forceReport):
            spoolSpaceMeasured(free, forceReport: forceReport, &actions)
        case .spoolSpaceReported(let free):
            reportedSpoolFree = free
        case .openRequested(let requester):
            openRequested(requester, &actions)
        case .spoolFileCreated(let requester, let result):
            spoolFileCreated(requester, result, &actions)
        case .commitRequested(let request, let requester):
            commitRequested(request, requester, &actions)
        case .commitBatchFinished(let committed):
            commitBatchFinished(committed, now: now, &actions)
        case .abortRequested(let id, let peer):
            abortRequested(id, from: peer, &actions)
        case .unsupportedRequest(let requester):
            actions.append(
                .reject(requester, SMTPReply(code: 451, enhanced: "4.3.0", text: "Unsupported queue request")))
        case .peerAttached(let role, let peer):
            peerAttached(role, peer, now: now, &actions)
        case .peerClosed(let role, let peer):
            peerClosed(role, peer, &actions)
        case .tick:
            schedule(now: now, &actions)
        case .messageDataUnreadable(let id, let error):
            messageDataUnreadable(id, error, &actions)
        case .partFinished(let id, let role, let answer):
            partFinished(id, role: role, answer, now: now, &actions)
        case .lookedUp(.notice(let tag), let answer):
            noticeLookedUp(tag, answer, now: now, &actions)
        case .lookedUp(.expansion(let tag, let address), let answer):
            expansionRouted(tag, address, answer, now: now, &actions)
        case .noticeWritten(let tag, let result):
            noticeWritten(tag, result, now: now, &actions)
        case .control(let command, let access, let who, let reply):
            let text = execute(command, access: access, who: who, now: now, &actions)
            actions.append(.answer(reply, text))
        case .reloaded(let settings):
            self.settings = settings
        case .drainRequested:
            draining = true
            actions.append(.log(.info("draining, deliveries in flight=\(inFlight.count)")))
            checkDrained(deadlinePassed: false, &actions)
        case .drainCheck(let deadlinePassed):
            checkDrained(deadlinePassed: deadlinePassed, &actions)
        }
        return actions
    }

    /// A fresh tag for work that waits for an answer.
    mutating func newTag() -> UInt64 {
        defer { nextTag += 1 }
        return nextTag
    }

    // MARK: start, peers, shutdown

    private mutating func recovered(_ found: [Envelope], problems: [String], _ actions: inout [QueueAction]) {
        for line in problems { actions.append(.log(.warning(line))) }
        for envelope in found {
            messages[envelope.queueID] = envelope
            let pending = envelope.recipients.indices.filter { envelope.recipients[$0].state == .pending }
            if !pending.isEmpty { maybeDelivered[envelope.queueID] = Set(pending.map { UInt32($0) }) }
        }
        actions.append(.log(.info("spool recovered, messages=\(found.count)")))
    }

    private mutating func peerAttached(_ role: Role, _ peer: Handle, now: Int64, _ actions: inout [QueueAction]) {
        peers[role] = peer
        switch role {
        case .local: schedule(now: now, &actions)
        case .listener: actions.append(.measureSpoolSpace(forceReport: true))
        default: break
        }
    }

    private mutating func peerClosed(_ role: Role, _ peer: Handle, _ actions: inout [QueueAction]) {
        if peers[role] == peer { peers[role] = nil }
        // Uploads of a listener (or submit) that went away will never be
        // committed. A delivery process's pending requests have already
        // failed (the channel fails them before it reports the close):
        // those messages are retried when a new one attaches.
        guard role == .listener || role == .submit else { return }
        for (id, upload) in uploads where upload.owner == peer {
            actions.append(.discardUpload(id, fd: upload.fd))
            uploads[id] = nil
        }
    }

    /// Stops once nothing is in flight and no commit waits, or at the deadline.
    private mutating func checkDrained(deadlinePassed: Bool, _ actions: inout [QueueAction]) {
        guard draining else { return }
        if inFlight.isEmpty && !commitRunning && pendingCommits.isEmpty || deadlinePassed {
            actions.append(.log(.info("stopped")))
            actions.append(.exit)
        }
    }
}

/// A spool file handed to a listener, not yet committed.
struct Upload: Equatable {
    var fd: Int32
    var owner: Handle
}
