/// The relay's side of a hostile server: the reply parser on any bytes, in
/// any pieces, and the client state machine driven by them. Replies stay
/// within their bounds (code 2xx–5xx, bounded lines, no control bytes),
/// and every message handed to the machine gets exactly one report with
/// one result per recipient, whatever the server sends.
import FuzzSupport
import PosternCore

@testable import SMTPProtocol

@_cdecl("LLVMFuzzerTestOneInput")
func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = fuzzBytes(data, size)
    guard let first = bytes.first else { return 0 }
    let step = Int(first % 31) + 1
    let input = Array(bytes.dropFirst())

    var parser = SMTPReplyParser()
    var offset = 0
    parsing: while offset < input.count {
        parser.append(input[offset..<min(offset + step, input.count)])
        offset += step
        while true {
            let reply: SMTPReply?
            do {
                reply = try parser.nextReply()
            } catch {
                break parsing
            }
            guard let reply else { break }
            check((200...599).contains(reply.code), "reply code \(reply.code)")
            check(reply.lines.count <= 100, "\(reply.lines.count) lines")
            for line in reply.lines {
                check(line.utf8.count <= 2048, "a line of \(line.utf8.count) bytes")
                check(!line.utf8.contains { $0 < 0x20 && $0 != 0x09 }, "control byte in \(escaped(line))")
            }
        }
    }

    let queueID = QueueID("FUZZ00000000") ?? QueueID.generate()
    let message = OutboundMessage(
        queueID: queueID, sender: "s@example.test",
        recipients: [OutboundRecipient(address: "a@example.test"), OutboundRecipient(address: "b@example.test")],
        size: 100, bodyType: first & 1 == 0 ? nil : .eightBitMIME)
    var machine = SMTPClientStateMachine(
        settings: SMTPClientSettings(
            heloName: "mail.example.test", remoteName: "mx.example.test", remoteAddress: "127.0.0.2",
            tlsPolicy: first & 2 == 0 ? .may : .encrypt))
    var reports: [MessageReport] = []
    func run(_ event: SMTPClientEvent) {
        var events = [event]
        while !events.isEmpty {
            for action in machine.handle(events.removeFirst()) {
                switch action {
                case .report(let report): reports.append(report)
                case .readContent: events.append(.contentEnd)
                case .startTLS: events.append(.tlsFailed)
                default: break
                }
            }
        }
    }
    run(.connected)
    run(.nextMessage(message))
    offset = 0
    while offset < input.count && !machine.isClosed {
        run(.received(Array(input[offset..<min(offset + step, input.count)])))
        offset += step
    }
    run(.connectionClosed)
    check(reports.count == 1, "\(reports.count) reports for one message")
    for report in reports {
        check(report.results.count == 2, "\(report.results.count) results for two recipients")
        check(Set(report.results.map(\.index)) == [0, 1], "result indexes \(report.results.map(\.index))")
    }
    return 0
}

@_cdecl("fuzz_reply_main")
func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    runFuzzer(argc, argv, testOneInput)
}
