import XCTest

@testable import SMTPProtocol

let remoteName = "mx.example.test"
let remoteAddress = "192.0.2.25"
let hostText = "mx.example.test[192.0.2.25]"

func queueID(_ number: Int) -> QueueID {
    let digits = String(number)
    guard let id = QueueID(String(repeating: "0", count: max(0, QueueID.length - digits.count)) + digits) else {
        preconditionFailure("bad test queue id \(number)")
    }
    return id
}

func message(
    _ number: Int = 1, sender: String = "bob@example.org", to recipients: [String] = ["alice@example.test"],
    size: Int = 100, bodyType: MessageBodyType? = nil, smtputf8: Bool = false, dsnReturn: DSNReturn? = nil,
    envelopeID: String = "", notify: DSNNotify = [], orcpt: String = ""
) -> OutboundMessage {
    OutboundMessage(
        queueID: queueID(number), sender: sender,
        recipients: recipients.map { OutboundRecipient(address: $0, notify: notify, originalRecipient: orcpt) },
        size: size, bodyType: bodyType, smtputf8: smtputf8, dsnReturn: dsnReturn, envelopeID: envelopeID)
}

/// Drives one client state machine like a transcript: what the server says
/// in, what the client writes out.
struct Client {
    var machine: SMTPClientStateMachine
    /// Every action so far, for whole-session checks.
    var history: [SMTPClientAction] = []

    init(policy: OutboundTLSPolicy = .none, timeouts: SMTPClientTimeouts = SMTPClientTimeouts()) {
        machine = SMTPClientStateMachine(
            settings: SMTPClientSettings(
                heloName: "relay.example.org", remoteName: remoteName, remoteAddress: remoteAddress,
                tlsPolicy: policy, timeouts: timeouts))
    }

    @discardableResult
    mutating func on(_ event: SMTPClientEvent) -> [SMTPClientAction] {
        let actions = machine.handle(event)
        history += actions
        return actions
    }

    @discardableResult
    mutating func server(_ text: String) -> [SMTPClientAction] { on(.received(Array(text.utf8))) }

    @discardableResult
    mutating func give(_ message: OutboundMessage) -> [SMTPClientAction] { on(.nextMessage(message)) }

    @discardableResult
    mutating func content(_ text: String) -> [SMTPClientAction] { on(.content(Array(text.utf8))) }

    /// Connects, takes the greeting and answers EHLO with these extensions.
    mutating func open(_ extensions: [String], file: StaticString = #filePath, line: UInt = #line) {
        on(.connected)
        XCTAssertEqual(
            sent(server("220 \(remoteName) ESMTP\r\n")), "EHLO relay.example.org\r\n", file: file, line: line)
        server(ehloReply(extensions))
        XCTAssertTrue(machine.isIdle, "not idle after EHLO", file: file, line: line)
    }
}

func ehloReply(_ extensions: [String]) -> String {
    let lines = ["\(remoteName) greets relay.example.org"] + extensions
    return lines.enumerated().map { index, line in
        "250\(index == lines.count - 1 ? " " : "-")\(line)\r\n"
    }.joined()
}

/// The bytes written, as text.
func sent(_ actions: [SMTPClientAction]) -> String {
    String(
        decoding: actions.flatMap { action -> [UInt8] in
            if case .send(let bytes) = action { return bytes }
            return []
        }, as: UTF8.self)
}

func reports(_ actions: [SMTPClientAction]) -> [MessageReport] {
    actions.compactMap { action in
        if case .report(let report) = action { return report }
        return nil
    }
}

func failures(_ actions: [SMTPClientAction]) -> [SessionFailure] {
    actions.compactMap { action in
        if case .sessionFailed(let failure) = action { return failure }
        return nil
    }
}

func timers(_ actions: [SMTPClientAction]) -> [SMTPClientAction] {
    actions.filter { action in
        switch action {
        case .armTimer, .cancelTimer: return true
        default: return false
        }
    }
}

/// Each recipient's disposition and status, in order.
func outcomes(_ report: MessageReport?) -> [String] {
    (report?.results ?? []).map { "\($0.disposition.rawValue) \($0.status)" }
}
