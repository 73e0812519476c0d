/// The SMTP server machine fed arbitrary client bytes (commands, DATA and
/// BDAT content), every asynchronous request answered from the input's
/// choice bytes, as the listener would.
///
/// Input layout:
///   byte 0      flags: 0x01 normalize bare line endings, 0x02 no added
///               headers, 0x04 greeting refuses the client, 0x08 small
///               limits, 0x10 TLS, 0x20 authenticated, 0x40 time out while
///               an answer is pending
///   bytes 1-2   PrivacyOption bits, in PrivacyOption.allCases order
///   bytes 3-10  choices, used in turn for each request (bits 0-2 pick the
///               answer, bit 4 delays it until after the next segment,
///               bit 5 makes a refusal temporary)
///   the rest    what the client sends, in segments (one read each)
///               separated by the two bytes FF FE
///
/// Checked: every reply is well formed; no more replies than command lines;
/// requests come one at a time and `isWaiting` says so; spool files are
/// written only while open, committed with their exact size, always
/// aborted or committed (also when the answer to an open comes after the
/// session ended); DATA content is stored with CRLF only and no NUL; what
/// the machine commits passes the IPC codec and the queue's control file;
/// pending input stays under its limit; and, unless the client broke
/// pipelining synchronization or overflowed the limit, the same bytes fed
/// one at a time give exactly the same session.
import FuzzSupport
import PosternCore
import PosternIPC
import PosternQueue
import SMTPFuzzSupport

@testable import SMTPProtocol

let segmentMarker: [UInt8] = [0xFF, 0xFE]
let headerLength = 11
let hostname = "mx.example.test"
let clientAddress = "192.0.2.1"
let date = "Mon, 1 Jan 2024 00:00:00 +0000"
/// Our own bytes in a spool file besides the client's: Received:, Date:,
/// Message-ID:, X-Authentication-Warning: and separators.
let headerAllowance = 4096

@_cdecl("LLVMFuzzerTestOneInput")
func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let scenario = Scenario(fuzzBytes(data, size))
    let pipelined = Run(scenario, byteByByte: false)
    pipelined.run()
    trace("session:\n  " + Run.normalized(pipelined.events).map(\.description).joined(separator: "\n  "))
    // Legitimately split-dependent: a client that sends before our reply
    // (RFC 2920 §3.1), pending input over its limit, and a timeout while
    // an answer is delayed (the byte-at-a-time run never delays one).
    guard !pipelined.sawSynchronizationError && !pipelined.sawOverflow && !pipelined.timedOutWaiting else {
        return 0
    }
    let single = Run(scenario, byteByByte: true)
    single.run()
    let expected = Run.normalized(pipelined.events)
    let actual = Run.normalized(single.events)
    if expected != actual {
        let index =
            (0..<min(expected.count, actual.count)).first { expected[$0] != actual[$0] }
            ?? min(expected.count, actual.count)
        let split = index < expected.count ? expected[index].detail : "(end)"
        let single = index < actual.count ? actual[index].detail : "(end)"
        check(false, "the session depends on how its input is split, at event \(index):\n\(split)\nvs\n\(single)")
    }
    return 0
}

@_cdecl("fuzz_session_main")
func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    runFuzzer(argc, argv, testOneInput)
}

struct Scenario {
    var settings: SMTPServerSettings
    var rejectAtGreeting: Bool
    var timeOutWhileWaiting: Bool
    var choices: [UInt8]
    var segments: [[UInt8]]
    var crlfCount: Int

    init(_ input: [UInt8]) {
        var header = Array(input.prefix(headerLength))
        header += [UInt8](repeating: 0, count: headerLength - header.count)
        let flags = header[0]
        let privacyBits = Int(header[1]) | Int(header[2]) << 8
        var privacy = Set<PrivacyOption>()
        for (bit, flag) in PrivacyOption.allCases.enumerated() where privacyBits & (1 << bit) != 0 {
            privacy.insert(flag)
        }
        let small = flags & 0x08 != 0
        settings = SMTPServerSettings(
            hostname: hostname, greeting: "\(hostname) ESMTP",
            maxMessageSize: small ? 400 : 10_485_760, maxRecipients: small ? 2 : 100,
            maxCommandLineLength: small ? 64 : 512, maxErrors: small ? 4 : 20, maxReceivedHeaders: small ? 2 : 100,
            maxPendingInput: small ? 256 : 65_536, privacy: privacy,
            bareLineEndings: flags & 0x01 != 0 ? .normalize : .reject, addMissingHeaders: flags & 0x02 == 0,
            maxHeaderSectionSize: small ? 200 : 1_048_576, maxHeaderLines: small ? 5 : 1000,
            protocolFlags: (tls: flags & 0x10 != 0, authenticated: flags & 0x20 != 0))
        rejectAtGreeting = flags & 0x04 != 0
        timeOutWhileWaiting = flags & 0x40 != 0
        choices = Array(header[3..<headerLength])

        let stream = Array(input.dropFirst(headerLength))
        var segments: [[UInt8]] = []
        var current: [UInt8] = []
        var index = 0
        while index < stream.count {
            if index + 1 < stream.count && stream[index] == segmentMarker[0] && stream[index + 1] == segmentMarker[1] {
                segments.append(current)
                current = []
                index += 2
                continue
            }
            current.append(stream[index])
            index += 1
        }
        segments.append(current)
        self.segments = segments.filter { !$0.isEmpty }
        // What the machine sees: the segments joined.
        let joined = Array(self.segments.joined())
        crlfCount = zip(joined, joined.dropFirst()).filter { $0 == 0x0D && $1 == 0x0A }.count
    }
}

enum Request {
    case sender, recipient, open, commit
}

/// What the machine did, for comparing two runs.
enum Event: Equatable, CustomStringConvertible {
    case reply(SMTPReply)
    case checkSender(String)
    case checkRecipient(String)
    case openMessage
    case data([UInt8])
    case commit(AcceptedMessage)
    case abort
    case close

    var description: String {
        switch self {
        case .reply(let reply): return "reply \(escaped(reply.description))"
        case .checkSender(let address): return "checkSender \(escaped(address))"
        case .checkRecipient(let address): return "checkRecipient \(escaped(address))"
        case .openMessage: return "openMessage"
        case .data(let bytes): return "data \(escaped(bytes, limit: 120))"
        case .commit(let message): return "commit \(message.size) bytes"
        case .abort: return "abort"
        case .close: return "close"
        }
    }

    /// The whole event, for a failure message.
    var detail: String {
        switch self {
        case .data(let bytes): return "data \(escaped(bytes, limit: 100_000))"
        case .commit(let message): return "commit \(message)"
        default: return description
        }
    }
}

final class Run {
    let scenario: Scenario
    let byteByByte: Bool
    var machine: SMTPServerStateMachine
    var choices: FuzzChoices
    var events: [Event] = []
    var pending: (request: Request, choice: UInt8, delayed: Bool)?
    var closed = false
    var spoolOpen = false
    var message: [UInt8] = []
    var replies = 0
    var queueIDs = 0
    var sawSynchronizationError = false
    var sawOverflow = false
    var timedOutWaiting = false

    init(_ scenario: Scenario, byteByByte: Bool) {
        self.scenario = scenario
        self.byteByByte = byteByByte
        machine = SMTPServerStateMachine(settings: scenario.settings, clientAddress: clientAddress)
        choices = FuzzChoices(scenario.choices)
    }

    /// Spool writes merged; an aborted spool file's content dropped (how
    /// much of a refused message was written before the refusal was
    /// certain depends on the reads, and it is thrown away).
    static func normalized(_ events: [Event]) -> [Event] {
        var result: [Event] = []
        for event in events {
            if event == .abort, let open = result.lastIndex(of: .openMessage) {
                result =
                    result[...open]
                    + result[(open + 1)...].filter {
                        if case .data = $0 { return false }
                        return true
                    }
            }
            if case .data(let bytes) = event, case .data(let previous)? = result.last {
                result[result.count - 1] = .data(previous + bytes)
            } else {
                result.append(event)
            }
        }
        return result
    }

    func run() {
        let rejection = SMTPReply(code: 554, enhanced: "5.7.1", text: "Client host rejected")
        apply(machine.start(rejection: scenario.rejectAtGreeting ? rejection : nil))
        for segment in scenario.segments {
            if byteByByte {
                for byte in segment {
                    feed([byte])
                    answerAll(allowDelay: false)
                }
            } else {
                feed(segment)
                answerAll(allowDelay: true)
            }
        }
        if scenario.timeOutWhileWaiting && pending != nil && !closed {
            timedOutWaiting = true
            apply(machine.timedOut())
        }
        answerAll(allowDelay: false)
        if !closed { apply(machine.timedOut()) }
        check(closed && machine.isClosed, "the session did not end")
        check(machine.timedOut().isEmpty && machine.receive(Array("QUIT\r\n".utf8)).isEmpty, "alive after close")
        check(replies <= scenario.crlfCount + 3, "\(replies) replies to \(scenario.crlfCount) lines")
    }

    func feed(_ bytes: [UInt8]) {
        if closed {
            check(machine.receive(bytes).isEmpty, "input after close was acted on")
        } else {
            apply(machine.receive(bytes))
        }
    }

    func answerAll(allowDelay: Bool) {
        while let current = pending {
            if allowDelay && current.choice & 0x10 != 0 && !current.delayed {
                pending?.delayed = true
                return
            }
            pending = nil
            answer(current.request, current.choice)
        }
    }

    func answer(_ request: Request, _ choice: UInt8) {
        let refusal =
            choice & 0x20 != 0
            ? SMTPReply(code: 450, enhanced: "4.7.1", text: "Try again later")
            : SMTPReply(code: 550, enhanced: "5.7.1", text: "Access denied")
        switch request {
        case .sender:
            let verdict: SenderVerdict = [.accept, .accept, .discard, .reject(refusal)][Int(choice % 4)]
            answered(machine.senderChecked(verdict))
        case .recipient:
            let verdicts: [RecipientVerdict] = [
                .accept(localUser: "alice"), .accept(localUser: ""), .discard, .reject(refusal),
            ]
            answered(machine.recipientChecked(verdicts[Int(choice % 4)]))
        case .open:
            var queueID: String?
            if choice % 8 != 7 {
                queueIDs += 1
                let digits = String(queueIDs)
                queueID = "FZZQ" + String(repeating: "0", count: max(0, 8 - digits.count)) + digits
            }
            if closed {
                // The session ended while the queue was creating the file:
                // it must be discarded, once.
                let late = machine.messageOpened(queueID: queueID, date: date)
                check(late == (queueID == nil ? [] : [.abortMessage]), "late spool file not discarded: \(late)")
                if queueID != nil {
                    let again = machine.messageOpened(queueID: "FZZQ99999999", date: date)
                    check(again.isEmpty, "late answer taken twice")
                }
                return
            }
            if queueID != nil {
                spoolOpen = true
                message = []
            }
            answered(machine.messageOpened(queueID: queueID, date: date))
        case .commit:
            let result: Result<Void, SMTPReply> =
                choice % 4 == 3
                ? .failure(SMTPReply(code: 451, enhanced: "4.3.0", text: "Queue failure")) : .success(())
            answered(machine.messageCommitted(result))
        }
    }

    /// An answer to a request made before the session closed changes nothing.
    func answered(_ actions: [SMTPServerAction]) {
        if closed {
            check(actions.isEmpty, "an answer after close was acted on: \(actions)")
        } else {
            apply(actions)
        }
    }

    func request(_ request: Request) {
        check(pending == nil, "a second request while one is pending")
        check(!scenario.rejectAtGreeting, "a request from a client refused at the greeting")
        pending = (request, choices.next(), false)
    }

    func apply(_ actions: [SMTPServerAction]) {
        for (index, action) in actions.enumerated() {
            check(!closed, "\(action) after close")
            switch action {
            case .reply(let reply):
                checkReply(reply)
                replies += 1
                events.append(.reply(reply))
                if reply == .synchronizationError { sawSynchronizationError = true }
                if reply == .inputOverflow(hostname) { sawOverflow = true }
                if reply == .bye { check(index + 1 < actions.count && actions[index + 1] == .close, "221 not closing") }
            case .checkSender(let address, _):
                checkAddress(address, context: "sender")
                request(.sender)
                events.append(.checkSender(address))
            case .checkRecipient(let address):
                checkAddress(address, context: "recipient")
                check(!address.isEmpty, "empty recipient")
                request(.recipient)
                events.append(.checkRecipient(address))
            case .openMessage:
                check(!spoolOpen, "a new spool file asked for while one is open")
                request(.open)
                events.append(.openMessage)
            case .writeMessageData(let bytes):
                check(spoolOpen, "spool data with no spool file open")
                check(!bytes.isEmpty && bytes.count <= SMTPServerStateMachine.maxWriteChunk, "write of \(bytes.count)")
                message += bytes
                check(
                    message.count <= scenario.settings.maxMessageSize + headerAllowance,
                    "\(message.count) bytes written for a limit of \(scenario.settings.maxMessageSize)")
                events.append(.data(bytes))
            case .commitMessage(let accepted):
                check(spoolOpen, "commit with no spool file open")
                checkCommitted(accepted)
                spoolOpen = false
                request(.commit)
                events.append(.commit(accepted))
            case .abortMessage:
                check(spoolOpen, "abort with no spool file open")
                spoolOpen = false
                events.append(.abort)
            case .startTLS, .authStart, .authContinue, .authAbort:
                // This harness's settings offer neither STARTTLS nor AUTH.
                check(false, "\(action) though neither STARTTLS nor AUTH is offered")
            case .close:
                check(index == actions.count - 1, "actions after close")
                check(!spoolOpen, "session closed with its spool file open")
                closed = true
                events.append(.close)
            }
        }
        check(machine.isClosed == closed, "isClosed is \(machine.isClosed)")
        if !closed { check(machine.isWaiting == (pending != nil), "isWaiting is \(machine.isWaiting)") }
        check(machine.input.count <= scenario.settings.maxPendingInput, "\(machine.input.count) bytes pending")
    }

    func checkCommitted(_ accepted: AcceptedMessage) {
        check(accepted.size == message.count, "commit says \(accepted.size) bytes, \(message.count) written")
        check(!accepted.recipients.isEmpty, "commit without recipients")
        checkAddress(accepted.sender, allowUTF8: accepted.smtputf8, context: "committed sender")
        for recipient in accepted.recipients {
            checkAddress(recipient.address, allowUTF8: accepted.smtputf8, context: "committed recipient")
        }
        check(message.starts(with: "Received: ".utf8), "spool file does not start with Received:")
        // BDAT content goes through the same checks as DATA's.
        check(hasOnlyCRLF(message), "message stored with a bare CR or LF: \(escaped(message))")
        check(!message.contains(0), "message stored with a NUL")
        checkHeaderSection()
        checkQueueAccepts(accepted)
    }

    /// What the machine accepts has a header section a strict reader
    /// takes the same way (RFC 5322 §2.2): fields and continuation lines up
    /// to the first empty line, no bare CR, no NUL, no line of blanks; the
    /// hop count within the limit (ours included); Date: and Message-ID:
    /// when the server adds missing ones. Lines end at LF here, because
    /// BDAT content may use bare LF.
    func checkHeaderSection() {
        var received = 0
        var sawDate = false
        var sawMessageID = false
        var start = 0
        while start < message.count {
            let lineFeed = message[start...].firstIndex(of: 0x0A)
            let end = lineFeed ?? message.count
            var line = message[start..<end]
            if lineFeed != nil, line.last == 0x0D { line = line.dropLast() }
            start = end + 1
            if line.isEmpty { break }
            check(!line.contains(0x0D) && !line.contains(0), "bare CR or NUL in the header section")
            if line.first == 0x20 || line.first == 0x09 {
                check(!line.allSatisfy { $0 == 0x20 || $0 == 0x09 }, "a line of blanks in the header section")
                continue
            }
            guard let colon = line.firstIndex(of: 0x3A) else {
                return check(false, "a header line that is not a field: \(escaped(line))")
            }
            var name = line[..<colon]
            while let last = name.last, last == 0x20 || last == 0x09 { name = name.dropLast() }
            check(!name.isEmpty && name.allSatisfy { $0 > 0x20 && $0 < 0x7F }, "field name \(escaped(name))")
            switch String(decoding: name, as: UTF8.self).lowercased() {
            case "received": received += 1
            case "date": sawDate = true
            case "message-id": sawMessageID = true
            default: break
            }
        }
        check(received <= scenario.settings.maxReceivedHeaders + 1, "\(received) Received: fields accepted")
        if scenario.settings.addMissingHeaders { check(sawDate && sawMessageID, "Date: or Message-ID: missing") }
    }

    /// What the listener commits must pass the IPC codec and become a
    /// control file that reads back the same, as QueueService builds it.
    func checkQueueAccepts(_ accepted: AcceptedMessage) {
        guard let queueID = QueueID("FZZQ00000000") else { return check(false, "bad queue id") }
        let request = CommitRequest(
            queueID: queueID, sender: accepted.sender,
            recipients: accepted.recipients.map {
                Recipient(
                    address: $0.address, localUser: $0.localUser, notify: $0.notify ?? [],
                    originalRecipient: $0.orcpt ?? "")
            },
            clientAddress: clientAddress, clientHelo: accepted.helo, authUser: "",
            dsnReturn: accepted.ret, envelopeID: accepted.envid ?? "", bodyType: accepted.body,
            smtputf8: accepted.smtputf8)
        let frame = FrameCodec.encode(.commitMessage(request), requestID: 1, isResponse: false)
        do throws(IPCDecodeError) {
            let decoded = try FrameCodec.decode(
                frame, descriptorCount: IPCMessage.Kind.commitMessage.descriptorCount)
            check(decoded.message == .commitMessage(request), "IPC changed a commit request")
        } catch {
            check(false, "IPC refuses a commit the listener makes: \(error)")
        }
        let envelope = Envelope(
            queueID: request.queueID, sender: request.sender, recipients: request.recipients,
            arrival: 1_700_000_000, clientAddress: request.clientAddress, clientHelo: request.clientHelo,
            authUser: request.authUser, size: Int64(accepted.size), dsnReturn: request.dsnReturn,
            envelopeID: request.envelopeID, bodyType: request.bodyType, smtputf8: request.smtputf8)
        check((try? envelope.validate()) != nil, "the queue refuses a commit the listener makes")
        do throws(ControlFileError) {
            let file = try ControlFile.encode(envelope)
            let reread = try ControlFile.decode(file)
            check(reread == envelope, "control file changed the envelope")
        } catch {
            check(false, "control file refuses a commit the listener makes: \(error)")
        }
    }
}

/// True when every CR is followed by LF and every LF preceded by CR.
func hasOnlyCRLF(_ bytes: [UInt8]) -> Bool {
    for (index, byte) in bytes.enumerated() {
        if byte == 0x0D && (index + 1 == bytes.count || bytes[index + 1] != 0x0A) { return false }
        if byte == 0x0A && (index == 0 || bytes[index - 1] != 0x0D) { return false }
    }
    return true
}
