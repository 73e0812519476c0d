import Glibc
import LocalSubmission
import Logging
import NIOConcurrencyHelpers
import PosternCore
import PosternIPC
import PosternListener
import SMTPProtocol

/// Local submission's work: a drop file becomes a queued message. Asked by
/// the sendmail command through the socket (`SubmitSocketServer`) and by
/// the scan of the drop directory (files left while the daemon was down,
/// or whose command went away). Each pickup runs on the thread that asked
/// and waits for the lookup's and the queue's answers; a file is picked up
/// by one thread at a time.
final class SubmitService: Sendable {
    let logger: Logger
    let peers = PeerChannels()
    let directory: DropDirectory
    private let state: NIOLockedValueBox<State>

    struct State {
        var config: PosternConfig
        var users = PasswdEntries()
        var usersLoaded = false
        /// Names being picked up right now.
        var busy: Set<String> = []
    }

    init(config: PosternConfig, logger: Logger, directory: DropDirectory = DropDirectory(path: "/")) {
        self.logger = logger
        self.directory = directory
        self.state = NIOLockedValueBox(State(config: config))
    }

    var config: PosternConfig { state.withLockedValue { $0.config } }

    func update(config: PosternConfig) {
        state.withLockedValue { $0.config = config }
    }

    func loadUsers(from fd: Int32) {
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = read(fd, &buffer, buffer.count)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            bytes += buffer.prefix(n)
        }
        let users = PasswdEntries(parsing: bytes)
        state.withLockedValue {
            $0.users = users
            $0.usersLoaded = true
        }
    }

    var usersLoaded: Bool { state.withLockedValue { $0.usersLoaded } }

    /// Whether the queue and the lookup are attached (a pickup needs both).
    var peersPresent: Bool { peers.channel(.queue) != nil && peers.channel(.lookup) != nil }

    func login(of uid: UInt32) -> String? { state.withLockedValue { $0.users.account(uid: uid)?.login } }

    // MARK: one pickup

    /// Picks up one drop file. `caller` is the uid SO_PEERCRED gave for a
    /// request on the socket (nil for the scan): it must be the file's.
    /// The answer is one reply: its code is the message's fate, and each
    /// refused recipient is an additional line, `<address>: 550 5.1.1 …`.
    ///
    /// `expired`: the file has waited longer than Timeout.queuereturn (the
    /// scan knows): recipients the lookup still defers are bounced.
    func pickUp(_ name: String, caller: UInt32?, expired: Bool = false) -> SMTPReply {
        guard let parsed = DropFileName(name) else {
            return SubmitReplies.notADropFile
        }
        if let caller, caller != parsed.uid {
            logger.warning("submit: uid \(caller) asked for \(name), which is not its file")
            return SubmitReplies.notYourFile
        }
        let claimed = state.withLockedValue { $0.busy.insert(name).inserted }
        guard claimed else { return SubmitReplies.busy }
        defer { _ = state.withLockedValue { $0.busy.remove(name) } }
        let (config, users) = state.withLockedValue { ($0.config, $0.users) }
        let limit = Int64(config.maxMessageSize) + Int64(DropEnvelopeDecoder.maxEnvelopeSize)
        let opened: (fd: Int32, size: Int64)
        switch directory.open(name, uid: parsed.uid, limit: limit) {
        case .success(let file): opened = file
        case .failure(.missing): return SubmitReplies.missing
        case .failure(.notReady): return SubmitReplies.notReady
        case .failure(let refusal):
            logger.warning("submit: refused \(name): \(refusal); removed")
            directory.remove(name)
            return SubmitReplies.refused(refusal.description)
        }
        let bytes = DropDirectory.readAll(opened.fd, size: opened.size)
        close(opened.fd)
        guard case .success(let contents) = bytes else {
            return SubmitReplies.temporary("the drop file cannot be read")
        }
        let drop: DropEnvelope
        let message: [UInt8]
        do {
            let decoded = try DropEnvelope.decode(contents)
            drop = decoded.envelope
            // The command checked it as it wrote it; a file written by
            // hand is held to the same rules (no NUL, no bare CR, lines of
            // at most 998 octets), and its line endings made CR LF.
            var reader = SubmissionReader(ignoreDots: true, maxMessageSize: config.maxMessageSize)
            message = try reader.consume(contents[decoded.messageOffset...]) + reader.finish()
        } catch {
            logger.warning("submit: refused \(name): \(error); removed")
            directory.remove(name)
            return SubmitReplies.refused("\(error)")
        }
        guard drop.name == parsed else {
            logger.warning("submit: refused \(name): it says it is \(drop.name); removed")
            directory.remove(name)
            return SubmitReplies.refused("renamed or moved drop file")
        }
        guard let account = users.account(uid: parsed.uid) else {
            logger.warning("submit: refused \(name): uid \(parsed.uid) has no account in /etc/passwd; removed")
            directory.remove(name)
            return SubmitReplies.refused("uid \(parsed.uid) has no account")
        }
        // Refused recipients are bounced when nobody waits for the answer
        // (a pickup by the scan) or when -oem/-oee asked for that.
        let mailBack = caller == nil || drop.errorMode == .mail || drop.errorMode == .mailAndExitZero
        let answer = queue(
            drop, message: message, account: account, uid: parsed.uid, mailBack: mailBack, expired: expired,
            config: config)
        if answer.removeFile { directory.remove(name) }
        return answer.reply
    }

    /// What a pickup came to: the reply lines, and whether the drop file
    /// is done with (queued, or refused for good).
    struct PickupAnswer {
        var reply: SMTPReply
        var removeFile: Bool
    }

    private func queue(
        _ drop: DropEnvelope, message: [UInt8], account: PasswdEntries.Account, uid: UInt32, mailBack: Bool,
        expired: Bool, config: PosternConfig
    ) -> PickupAnswer {
        let submitter = Submitter(
            uid: uid, login: account.login, fullName: account.fullName,
            trusted: uid == 0 || config.trustedUsers.contains(account.login))
        let submission: Submission
        let builder = SubmissionBuilder(
            config: config, now: Int64(time(nil)), utcOffset: Self.utcOffset(), random: Self.randomBytes(16),
            masquerader: MasqueradeConfiguration.masquerader(config))
        switch builder.build(drop, message: message, submitter: submitter) {
        case .failure(let refusal):
            logger.info("submit: refused a message of uid \(uid) (\(account.login)): \(refusal.text)")
            return PickupAnswer(reply: refusal, removeFile: true)
        case .success(let built): submission = built
        }
        var verdicts = RecipientVerdicts()
        let timeout = Double(config.ipcTimeout)
        for address in submission.recipients {
            let asked = BlockingRequest.ask(
                peers.channel(.lookup),
                .checkRecipient(address: address, client: ClientContext(address: CommitRequest.localClient)),
                timeout: timeout)
            guard let verdict = RecipientVerdicts.verdict(asked) else {
                return PickupAnswer(reply: SubmitReplies.temporary("the lookup did not answer"), removeFile: false)
            }
            verdicts.verdicts.append((address, verdict))
        }
        if expired {
            // Waited long enough: what is still deferred fails now.
            verdicts.verdicts = verdicts.verdicts.map { entry in
                guard case .deferred(let reply) = entry.verdict else { return entry }
                return (entry.address, .refused(reply))
            }
        } else if let first = verdicts.deferred.first {
            return PickupAnswer(
                reply: SubmitReplies.temporary("<\(first.address)>: \(first.reply.code) \(first.reply.text)"),
                removeFile: false)
        }
        let refusedLines = verdicts.refused.map {
            "<\($0.address)>: \($0.reply.code) \($0.reply.enhanced) \($0.reply.text)"
        }
        for (address, reply) in verdicts.refused {
            logger.info(
                "submit: uid \(uid) (\(account.login)): recipient <\(address)> refused: \(reply.code) \(reply.enhanced) \(reply.text)"
            )
        }
        if verdicts.allDiscarded {
            return PickupAnswer(reply: SubmitReplies.discarded, removeFile: true)
        }
        var recipients = verdicts.accepted.map { r in
            var r = r
            r.notify = submission.notify
            return r
        }
        if mailBack, !recipients.isEmpty || !submission.sender.isEmpty {
            recipients += verdicts.refused.map {
                Recipient(
                    address: $0.address, localUser: "", state: .failed,
                    lastResult: "\($0.reply.enhanced) \($0.reply.text)", notify: submission.notify)
            }
        }
        guard !recipients.isEmpty else {
            return PickupAnswer(reply: SubmitReplies.noValidRecipients.adding(refusedLines), removeFile: true)
        }
        switch store(submission, recipients: recipients, config: config, timeout: timeout) {
        case .success(let id):
            logger.info(
                "\(id): local submission, uid=\(uid) (\(account.login)), from=<\(submission.sender)>, nrcpt=\(recipients.count)\(submission.logTag.map { ", tag=\($0)" } ?? "")\(submission.messageID.map { ", message-id=\($0)" } ?? "")"
            )
            return PickupAnswer(reply: SubmitReplies.queued(id).adding(refusedLines), removeFile: true)
        case .failure(let reply):
            return PickupAnswer(reply: reply, removeFile: reply.code >= 500)
        }
    }

    /// Writes the message into a spool file the queue opens and commits
    /// it on submit's own edge (where the queue marks it local).
    private func store(_ submission: Submission, recipients: [Recipient], config: PosternConfig, timeout: Double)
        -> Result<QueueID, SMTPReply>
    {
        let opened = BlockingRequest.ask(peers.channel(.queue), .openMessage, timeout: timeout)
        guard case .success(let frame) = opened, case .messageOpened(let id) = frame.message,
            let fd = frame.descriptors.first
        else {
            if case .success(let frame) = opened {
                frame.descriptors.forEach { _ = close($0) }
                if case .rejected(let reply) = frame.message { return .failure(reply) }
            }
            return .failure(SubmitReplies.temporary("the queue did not answer"))
        }
        let received = submission.receivedLine(
            queueID: "\(id)", host: config.myHostname, date: PosternCore.RFC5322Date.now())
        let written = SpoolWriter.writeAll(fd, received + submission.message)
        close(fd)
        guard written == 0 else {
            try? peers.channel(.queue)?.send(.abortMessage(id))
            logger.error("\(id): spool write failed: \(String(cString: strerror(written)))")
            return .failure(SubmitReplies.temporary("the spool file could not be written"))
        }
        let request = CommitRequest(
            queueID: id, sender: submission.sender, recipients: recipients,
            clientAddress: CommitRequest.localClient, clientHelo: "", authUser: "",
            dsnReturn: submission.ret, envelopeID: submission.envelopeID ?? "", bodyType: submission.bodyType)
        let committed = BlockingRequest.ask(peers.channel(.queue), .commitMessage(request), timeout: timeout)
        switch committed.map(\.message) {
        case .success(.committed(let cid)) where cid == id: return .success(id)
        case .success(.rejected(let reply)): return .failure(reply)
        default: return .failure(SubmitReplies.temporary("the queue did not confirm the commit"))
        }
    }
}

/// Writing a spool file: plain writes, retried on EINTR and short writes.
enum SpoolWriter {
    /// 0, or the errno of the failed write.
    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Int32 {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                return errno
            }
            offset += n
        }
        return 0
    }
}

extension SubmitService {
    /// The local zone's offset east of UTC, in seconds (the zone was read
    /// before the chroot).
    static func utcOffset() -> Int {
        var t = time(nil)
        var parts = tm()
        localtime_r(&t, &parts)
        return parts.tm_gmtoff
    }

    static func randomBytes(_ count: Int) -> [UInt8] {
        // The standard library's generator reads getrandom(2).
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }

    /// Waits until no pickup is under way, or `timeout` seconds.
    func waitForPickups(timeout: Double) {
        let deadline = MonotonicClock.now() + timeout
        while MonotonicClock.now() < deadline {
            if state.withLockedValue({ $0.busy.isEmpty }) { return }
            usleep(20_000)
        }
    }
}
