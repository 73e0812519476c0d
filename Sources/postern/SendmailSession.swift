import Glibc
import LocalSubmission
import PosternCore
import SMTPProtocol

/// `sendmail -bs`: an SMTP session on stdin and stdout under local
/// submission's rules. The listener's state machine runs here, in the
/// caller's process and with its rights: RCPT is asked of submit (CHECK)
/// when the daemon runs and taken on syntax alone when it does not; each
/// message goes into the drop directory and to submit, which adds the
/// Received: line, the originator fields and the -f warning exactly as for
/// any other local submission (the machine adds none of them here).
struct SendmailSession {
    let config: PosternConfig
    private var machine: SMTPServerStateMachine
    private var client: SubmitClient?
    /// The message of the transaction under way, canonical (the machine
    /// has undone the dot-stuffing); bounded by MaxMessageSize.
    private var data: [UInt8] = []
    /// Named at DATA, so that the 250 can name the file it is in.
    private var dropName: DropFileName?
    private var done = false

    init(config: PosternConfig) {
        self.config = config
        var settings = SMTPServerSettings(
            hostname: config.myHostname, greeting: config.expandedGreeting(date: PosternCore.RFC5322Date.now()),
            maxMessageSize: config.maxMessageSize, maxRecipients: config.maxRecipientsPerMessage,
            maxErrors: config.maxErrorsPerSession, maxReceivedHeaders: config.maxHopCount,
            bareLineEndings: config.bareLineEndings, addMissingHeaders: false,
            commandTimeout: config.commandTimeout, dataTimeout: config.dataBlockTimeout)
        settings.addReceivedHeader = false
        machine = SMTPServerStateMachine(settings: settings, clientAddress: "127.0.0.1")
        client = SubmitClient.connect(runDirectory: config.runDirectory)
    }

    /// Runs until QUIT or the end of stdin; the exit code.
    mutating func run() -> Int32 {
        perform(machine.start())
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while !done {
            let n = read(0, &buffer, buffer.count)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            // A line at a time: a script piped in sends everything at once,
            // and every answer here is immediate, so each line meets the
            // state its predecessor left (the machine would otherwise take
            // the message after DATA for pipelining it does not allow).
            var rest = buffer[..<n]
            while !done, !rest.isEmpty {
                let end = rest.firstIndex(of: 0x0A).map { $0 + 1 } ?? rest.endIndex
                perform(machine.receive(rest[..<end]))
                rest = rest[end...]
            }
        }
        client?.close()
        return SysExits.ok.rawValue
    }

    private mutating func perform(_ actions: [SMTPServerAction]) {
        var pending = actions[...]
        while let action = pending.popFirst() {
            pending += step(action)[...]
        }
    }

    /// Carries out one action; what the machine answers to it.
    private mutating func step(_ action: SMTPServerAction) -> [SMTPServerAction] {
        switch action {
        case .reply(let reply):
            let bytes = reply.rendered
            _ = bytes.withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
            return []
        case .checkSender:
            return machine.senderChecked(.accept)
        case .checkRecipient(let address):
            return machine.recipientChecked(verdict(address))
        case .openMessage:
            data = []
            dropName = DropWriter.newName()
            return machine.messageOpened(queueID: dropName?.description, date: PosternCore.RFC5322Date.now())
        case .writeMessageData(let bytes):
            data += bytes
            return []
        case .commitMessage(let message):
            let result = commit(message)
            data = []
            return machine.messageCommitted(result)
        case .abortMessage:
            data = []
            return []
        case .close, .startTLS, .authStart, .authContinue, .authAbort:
            done = true
            return []
        }
    }

    /// RCPT: submit's answer while the daemon runs, else syntax only (the
    /// message waits in the drop directory and is judged at pickup).
    private mutating func verdict(_ address: String) -> RecipientVerdict {
        guard var connected = client, let reply = connected.ask(.check(address)) else {
            client = nil
            return .accept(localUser: "")
        }
        client = connected
        return reply.isPositive ? .accept(localUser: "") : .reject(reply)
    }

    /// The drop file, then submit's answer: 250 once it is queued or kept.
    private mutating func commit(_ message: AcceptedMessage) -> Result<Void, SMTPReply> {
        guard let dropName else {
            return .failure(SMTPReply(code: 451, enhanced: "4.3.0", text: "No drop file name"))
        }
        let written = DropWriter.write(message: data, name: dropName, config: config) { name in
            var envelope = DropEnvelope(name: name, time: Int64(time(nil)))
            envelope.sender = message.sender
            envelope.recipients = message.recipients.map(\.address)
            envelope.bodyType = message.body
            envelope.ret = message.ret
            envelope.envelopeID = message.envid
            envelope.notify = message.recipients.first?.notify
            return envelope
        }
        guard case .success(let name) = written else {
            return .failure(SMTPReply(code: 451, enhanced: "4.3.0", text: "Cannot write to the drop directory"))
        }
        guard var connected = client, let reply = connected.ask(.submit(name)) else {
            client = nil
            return .success(())  // kept for the daemon
        }
        client = connected
        return reply.isPermanentFailure ? .failure(reply) : .success(())
    }
}
