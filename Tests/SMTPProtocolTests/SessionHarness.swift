import XCTest

@testable import SMTPProtocol

/// An action with its reply rendered as wire text, so that a test reads
/// like a transcript and a changed reply text fails the test.
enum Event: Equatable, CustomStringConvertible {
    case reply(String)
    case checkSender(String)
    case check(String)
    case open
    case write([UInt8])
    case commit(AcceptedMessage)
    case abort
    case close
    case startTLS
    case authStart(String, [UInt8]?)
    case authContinue([UInt8])
    case authAbort

    init(_ action: SMTPServerAction) {
        switch action {
        case .reply(let reply): self = .reply(String(decoding: reply.rendered, as: UTF8.self))
        case .checkSender(let address, _): self = .checkSender(address)
        case .checkRecipient(let address): self = .check(address)
        case .openMessage: self = .open
        case .writeMessageData(let bytes): self = .write(bytes)
        case .commitMessage(let message): self = .commit(message)
        case .abortMessage: self = .abort
        case .close: self = .close
        case .startTLS: self = .startTLS
        case .authStart(let mechanism, let initial): self = .authStart(mechanism, initial)
        case .authContinue(let bytes): self = .authContinue(bytes)
        case .authAbort: self = .authAbort
        }
    }

    static func written(_ text: String) -> Event { .write(Array(text.utf8)) }

    var description: String {
        switch self {
        case .reply(let text): return "reply(\(text.debugDescription))"
        case .checkSender(let address): return "checkSender(\(address))"
        case .check(let address): return "check(\(address))"
        case .open: return "open"
        case .write(let bytes): return "write(\(String(decoding: bytes, as: UTF8.self).debugDescription))"
        case .commit(let message): return "commit(\(message))"
        case .abort: return "abort"
        case .close: return "close"
        case .startTLS: return "startTLS"
        case .authStart(let mechanism, let initial):
            return "authStart(\(mechanism), \(initial.map { "\($0)" } ?? "nil"))"
        case .authContinue(let bytes): return "authContinue(\(bytes))"
        case .authAbort: return "authAbort"
        }
    }
}

let testHost = "mx.example.test"
let testDate = "Mon, 23 Nov 2026 11:50:00 +0000"
let testClient = "192.0.2.1"

extension SMTPServerSettings {
    /// The test settings. `addMissingHeaders` is off here (it is on by
    /// default) so that spool contents stay easy to state; the header tests
    /// turn it on.
    static func test(
        maxMessageSize: Int = 10_485_760, maxRecipients: Int = 100, maxCommandLineLength: Int = 512,
        maxErrors: Int = 20, maxReceivedHeaders: Int = 100, maxPendingInput: Int = 65_536,
        privacy: Set<PrivacyOption> = [], bareLineEndings: BareLineEndings = .reject,
        addMissingHeaders: Bool = false, maxHeaderSectionSize: Int = 1_048_576, maxHeaderLines: Int = 1000
    ) -> SMTPServerSettings {
        SMTPServerSettings(
            hostname: testHost, greeting: "\(testHost) ESMTP", maxMessageSize: maxMessageSize,
            maxRecipients: maxRecipients, maxCommandLineLength: maxCommandLineLength, maxErrors: maxErrors,
            maxReceivedHeaders: maxReceivedHeaders, maxPendingInput: maxPendingInput, privacy: privacy,
            bareLineEndings: bareLineEndings, addMissingHeaders: addMissingHeaders,
            maxHeaderSectionSize: maxHeaderSectionSize, maxHeaderLines: maxHeaderLines)
    }
}

/// Drives one state machine and records everything it asked for.
struct Session {
    var machine: SMTPServerStateMachine
    /// When set (the default), every `.checkSender` is answered `.accept`
    /// at once and left out of the transcript, so that tests about other
    /// things read as a conversation with a server that accepts every
    /// sender. The sender-policy tests turn it off.
    var autoAcceptSenders = true

    init(_ settings: SMTPServerSettings = .test(), client: String = testClient) {
        machine = SMTPServerStateMachine(settings: settings, clientAddress: client)
    }

    /// The events for `actions`, answering sender checks when asked to. A
    /// check is always the last action: the machine waits after it.
    private mutating func events(_ actions: [SMTPServerAction]) -> [Event] {
        var events = actions.map(Event.init)
        while autoAcceptSenders, case .checkSender? = events.last {
            events.removeLast()
            events += machine.senderChecked(.accept).map(Event.init)
        }
        return events
    }

    mutating func start(rejection: SMTPReply? = nil) -> [Event] { events(machine.start(rejection: rejection)) }
    mutating func send(_ text: String) -> [Event] { events(machine.receive(Array(text.utf8))) }
    mutating func send(bytes: [UInt8]) -> [Event] { events(machine.receive(bytes)) }
    mutating func accept(_ user: String) -> [Event] { events(machine.recipientChecked(.accept(localUser: user))) }
    mutating func reject(_ reply: SMTPReply) -> [Event] { events(machine.recipientChecked(.reject(reply))) }
    mutating func recipient(_ verdict: RecipientVerdict) -> [Event] { events(machine.recipientChecked(verdict)) }
    mutating func discardRecipient() -> [Event] { events(machine.recipientChecked(.discard)) }
    mutating func sender(_ verdict: SenderVerdict) -> [Event] { events(machine.senderChecked(verdict)) }
    mutating func opened(_ queueID: String?) -> [Event] {
        events(machine.messageOpened(queueID: queueID, date: testDate))
    }
    mutating func committed() -> [Event] { events(machine.messageCommitted(.success(()))) }
    mutating func timedOut() -> [Event] { events(machine.timedOut()) }

    /// Sends one byte per call and gathers all the events.
    mutating func trickle(_ bytes: [UInt8]) -> [Event] {
        bytes.flatMap { events(machine.receive([$0])) }
    }

    /// EHLO, MAIL and accepted RCPTs, checking each reply on the way, so
    /// that BDAT tests start from a known state.
    mutating func envelope(
        recipients: [String] = ["alice@example.test"], sender: String = "bob@example.org",
        file: StaticString = #filePath, line: UInt = #line
    ) {
        _ = start()
        XCTAssertEqual(send("EHLO client.example.org\r\n").count, 1, file: file, line: line)
        XCTAssertEqual(send("MAIL FROM:<\(sender)>\r\n"), [.reply("250 2.1.0 Ok\r\n")], file: file, line: line)
        for recipient in recipients {
            XCTAssertEqual(send("RCPT TO:<\(recipient)>\r\n"), [.check(recipient)], file: file, line: line)
            XCTAssertEqual(accept("user"), [.reply("250 2.1.5 Ok\r\n")], file: file, line: line)
        }
    }

    /// EHLO, MAIL, accepted RCPTs and DATA up to the 354, checking each reply
    /// on the way, so data-phase tests start from a known state.
    mutating func openMessage(
        recipients: [String] = ["alice@example.test"], sender: String = "bob@example.org",
        queueID: String = "7Q3K9ABCDEFG", file: StaticString = #filePath, line: UInt = #line
    ) {
        _ = start()
        XCTAssertEqual(send("EHLO client.example.org\r\n").count, 1, file: file, line: line)
        XCTAssertEqual(send("MAIL FROM:<\(sender)>\r\n"), [.reply("250 2.1.0 Ok\r\n")], file: file, line: line)
        for recipient in recipients {
            XCTAssertEqual(send("RCPT TO:<\(recipient)>\r\n"), [.check(recipient)], file: file, line: line)
            XCTAssertEqual(accept("user"), [.reply("250 2.1.5 Ok\r\n")], file: file, line: line)
        }
        XCTAssertEqual(send("DATA\r\n"), [.open], file: file, line: line)
        let events = opened(queueID)
        XCTAssertEqual(events.first, .reply("354 End data with <CR><LF>.<CR><LF>\r\n"), file: file, line: line)
        XCTAssertEqual(events.count, 2, file: file, line: line)
    }
}

/// The bytes of all writes, in order: what the spool file would hold.
func spool(_ events: [Event]) -> [UInt8] {
    events.flatMap { event -> [UInt8] in
        if case .write(let bytes) = event { return bytes }
        return []
    }
}

/// Everything but the writes, for checking the conversation separately
/// from the content.
func withoutWrites(_ events: [Event]) -> [Event] {
    events.filter { event in
        if case .write = event { return false }
        return true
    }
}

func receivedHeader(recipient: String?, queueID: String = "7Q3K9ABCDEFG", with: String = "ESMTP") -> String {
    let first =
        "Received: from client.example.org ([192.0.2.1])\r\n\tby mx.example.test (Postern) with \(with) id \(queueID)"
    if let recipient { return first + "\r\n\tfor <\(recipient)>; \(testDate)\r\n" }
    return first + ";\r\n\t\(testDate)\r\n"
}

/// The messages handed to the queue.
func commits(_ events: [Event]) -> [AcceptedMessage] {
    events.compactMap { event -> AcceptedMessage? in
        if case .commit(let message) = event { return message }
        return nil
    }
}

func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }
