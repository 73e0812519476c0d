import PosternCore
import XCTest

@testable import SMTPProtocol

/// Random sessions against the invariants the queue relies on: no crash,
/// one report per message with one result per recipient, statuses that agree
/// with their dispositions, nothing but late reports after `.close`, and no
/// bare CR or LF on the wire. An I/O layer that keeps its side of the
/// contract also never sees two content reads outstanding.
///
/// The simulated server mostly answers what the client is waiting for, with
/// a random outcome, so that sessions get deep; now and then it sends
/// something hostile, splits a reply, or the network fails.
final class ClientFuzzTests: XCTestCase {
    private static let hostile = [
        "421 4.3.2 bye\r\n", "250-a\r\n", "\u{0}", "hello\r\n", "250 ok\n", "250-a\r\n550 b\r\n", "250 unasked\r\n",
        "354 what\r\n",
    ]
    private static let extensions = ["PIPELINING", "CHUNKING", "STARTTLS", "8BITMIME", "SIZE 50", "DSN", "SMTPUTF8"]

    /// An I/O layer that answers only the reads it was asked for.
    func testRandomSessionsWithinTheContract() {
        fuzz(seed: 0xC11E_7715, rounds: 3000, chaos: false)
    }

    /// Any event at any time, content nobody asked for included.
    func testRandomSessionsInChaos() {
        fuzz(seed: 0xBAD_5EED, rounds: 3000, chaos: true)
    }

    private func fuzz(seed: UInt64, rounds: Int, chaos: Bool) {
        var random = SplitMix64(seed: seed)
        var reached: Set<String> = []
        for round in 0..<rounds {
            var client = Client(policy: OutboundTLSPolicy.allCases[Int(random.next() % 4)])
            var fuzzer = Fuzzer(chaos: chaos)
            var steps = 0
            while steps < 200 && !client.machine.isClosed {
                steps += 1
                let event = fuzzer.event(&random, machine: client.machine)
                let actions = client.on(event)
                fuzzer.readsOutstanding += actions.filter { $0 == .readContent }.count
                checkBatch(actions, round: round)
                if !chaos { XCTAssertLessThanOrEqual(fuzzer.readsOutstanding, 1, "round \(round)") }
            }
            // Whatever state it is in, a lost connection settles everything.
            checkBatch(client.on(.connectionClosed), round: round)
            checkBatch(client.on(.nextMessage(message(999_999, to: ["late@example.test"]))), round: round)
            fuzzer.given[queueID(999_999)] = 1
            XCTAssertTrue(client.machine.isClosed, "round \(round)")
            verify(client.history, given: fuzzer.given, round: round)
            reached.formUnion(Self.landmarks(client.history))
            if (testRun?.failureCount ?? 0) > 0 { return }
        }
        // The sessions got deep enough to mean something.
        XCTAssertEqual(
            reached,
            ["delivered", "failed", "deferred", "startTLS", "BDAT", "DATA", "RSET", "QUIT", "HELO", "read", "timeout"])
    }

    private struct Fuzzer {
        let chaos: Bool
        var given: [QueueID: Int] = [:]
        var nextNumber = 1
        var readsOutstanding = 0
        /// The rest of a reply split across two reads.
        var rest: [UInt8] = []

        init(chaos: Bool) { self.chaos = chaos }

        mutating func event(_ random: inout SplitMix64, machine: SMTPClientStateMachine) -> SMTPClientEvent {
            let kind = random.next() % 100
            if !rest.isEmpty && kind < 50 {
                defer { rest = [] }
                return .received(rest)
            }
            switch kind {
            case 0..<2: return .connected
            case 2..<5: return .received(Array(pick(ClientFuzzTests.hostile, &random).utf8))
            case 5: return .received((0..<Int(random.next() % 8)).map { _ in UInt8(truncatingIfNeeded: random.next()) })
            case 6: return random.next() % 2 == 0 ? .tlsFailed : .tlsEstablished
            case 7: return .timedOut
            case 8: return .connectionClosed
            case 9..<13: return .noMoreMessages
            case 13..<25: return newMessage(&random)
            case 25..<45 where chaos || readsOutstanding > 0:
                readsOutstanding = max(0, readsOutstanding - 1)
                return contentAnswer(&random)
            default:
                if machine.stage == .handshaking { return random.next() % 5 == 0 ? .tlsFailed : .tlsEstablished }
                if machine.stage == .idle && random.next() % 2 == 0 { return newMessage(&random) }
                var reply = Array(answer(machine.expected.first, &random).utf8)
                if random.next() % 8 == 0 {
                    let cut = Int(random.next() % UInt64(reply.count))
                    rest = Array(reply[cut...])
                    reply = Array(reply[..<cut])
                }
                return .received(reply)
            }
        }

        /// A plausible reply to what the client waits for.
        private func answer(_ expectation: SMTPClientStateMachine.Expectation?, _ random: inout SplitMix64) -> String {
            switch expectation {
            case .greeting: return pick(["220 hi\r\n", "220 hi\r\n", "220 hi\r\n", "554 no\r\n"], &random)
            case .ehlo:
                if random.next() % 6 == 0 { return pick(["502 what\r\n", "451 later\r\n"], &random) }
                let offered = ClientFuzzTests.extensions.filter { _ in random.next() % 2 == 0 }
                return ehloReply(offered)
            case .helo: return pick(["250 hi\r\n", "250 hi\r\n", "550 no\r\n"], &random)
            case .startTLS: return pick(["220 go\r\n", "220 go\r\n", "454 4.7.0 no\r\n"], &random)
            case .rset: return pick(["250 ok\r\n", "250 ok\r\n", "500 no\r\n"], &random)
            case .mail:
                return pick(["250 ok\r\n", "250 ok\r\n", "250 ok\r\n", "451 4.3.0 x\r\n", "553 5.1.8 x\r\n"], &random)
            case .rcpt: return pick(["250 ok\r\n", "250 ok\r\n", "450 4.2.0 x\r\n", "550 5.1.1 x\r\n"], &random)
            case .data: return pick(["354 go\r\n", "354 go\r\n", "354 go\r\n", "554 5.5.1 x\r\n"], &random)
            case .dataEnd, .abandonedData, .bdat:
                return pick(["250 2.0.0 ok\r\n", "250 2.0.0 ok\r\n", "451 4.3.0 x\r\n", "554 5.7.1 x\r\n"], &random)
            case .quit: return "221 bye\r\n"
            case nil: return "250 unasked\r\n"
            }
        }

        private func contentAnswer(_ random: inout SplitMix64) -> SMTPClientEvent {
            switch random.next() % 10 {
            case 0, 1, 2: return .contentEnd
            case 3: return .contentUnreadable
            default: return .content(Array(pick(["a\r\n", ".\n", "x\r", "", "\n.\r\n", "."], &random).utf8))
            }
        }

        private mutating func newMessage(_ random: inout SplitMix64) -> SMTPClientEvent {
            let count = Int(random.next() % 4)
            let number = nextNumber
            nextNumber += 1
            given[queueID(number)] = count
            let recipients = (0..<count).map { "r\($0)@example.test" }
            let body: MessageBodyType? = random.next() % 4 == 0 ? .eightBitMIME : nil
            return .nextMessage(
                message(
                    number, to: recipients, size: Int(random.next() % 100), bodyType: body,
                    smtputf8: random.next() % 8 == 0, dsnReturn: .full, notify: .success))
        }

        private func pick(_ choices: [String], _ random: inout SplitMix64) -> String {
            choices[Int(random.next() % UInt64(choices.count))]
        }
    }

    /// Nothing after `.close` but reports.
    private func checkBatch(_ actions: [SMTPClientAction], round: Int) {
        guard let close = actions.firstIndex(of: .close) else { return }
        for action in actions[(close + 1)...] {
            guard case .report = action else {
                XCTFail("round \(round): \(action) after close")
                return
            }
        }
    }

    private func verify(_ history: [SMTPClientAction], given: [QueueID: Int], round: Int) {
        var reported: [QueueID: Int] = [:]
        var closes = 0
        for action in history {
            switch action {
            case .report(let report):
                reported[report.queueID, default: 0] += 1
                XCTAssertEqual(report.results.map(\.index), Array(0..<(given[report.queueID] ?? -1)), "round \(round)")
                for result in report.results {
                    let expectedClass = ["delivered": "2", "deferred": "4", "failed": "5"][result.disposition.rawValue]
                    XCTAssertEqual(result.status.first.map(String.init), expectedClass, "round \(round): \(result)")
                    XCTAssertTrue(result.text.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F }, "round \(round)")
                    XCTAssertLessThan(result.queueText.utf8.count, EnvelopeField.maxTextLength)
                }
            case .send(let bytes):
                XCTAssertTrue(Self.hasOnlyCRLF(bytes), "round \(round): \(String(decoding: bytes, as: UTF8.self))")
            case .close:
                closes += 1
            default:
                break
            }
        }
        XCTAssertEqual(closes, 1, "round \(round)")
        XCTAssertEqual(reported, given.mapValues { _ in 1 }, "round \(round)")
    }

    private static func hasOnlyCRLF(_ bytes: [UInt8]) -> Bool {
        for (index, byte) in bytes.enumerated() {
            if byte == 0x0D && (index + 1 >= bytes.count || bytes[index + 1] != 0x0A) { return false }
            if byte == 0x0A && (index == 0 || bytes[index - 1] != 0x0D) { return false }
        }
        return true
    }

    private static func landmarks(_ history: [SMTPClientAction]) -> Set<String> {
        var found: Set<String> = []
        for action in history {
            switch action {
            case .report(let report): found.formUnion(report.results.map(\.disposition.rawValue))
            case .startTLS: found.insert("startTLS")
            case .readContent: found.insert("read")
            case .sessionFailed(let failure) where failure.text.contains("timed out"): found.insert("timeout")
            case .send(let bytes):
                let text = "\n" + String(decoding: bytes, as: UTF8.self)
                for command in ["BDAT", "DATA", "RSET", "QUIT", "HELO"] where text.contains("\n" + command) {
                    found.insert(command)
                }
            default: break
            }
        }
        return found
    }
}
