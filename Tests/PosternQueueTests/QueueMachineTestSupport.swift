import Logging
import PosternCore
import PosternIPC
import XCTest

@testable import PosternQueue

/// Stands for a channel or a control connection: the machine only carries
/// it and compares it by identity.
final class FakePeer {}

/// The test clock's start: 2023-11-14 22:13:20 UTC.
let t0: Int64 = 1_700_000_000

/// Queue ids that read as numbers: 000000000001, 000000000002…
func qid(_ n: Int) -> QueueID {
    let digits = String(n)
    return QueueID(String(repeating: "0", count: max(0, QueueID.length - digits.count)) + digits) ?? QueueID.generate()
}

func local(_ address: String, _ user: String, notify: DSNNotify = []) -> Recipient {
    Recipient(address: address, localUser: user, notify: notify)
}

func remote(_ address: String, notify: DSNNotify = []) -> Recipient {
    Recipient(address: address, localUser: "", notify: notify)
}

/// A message as a commit stores it (duplicates marked).
func message(
    _ n: Int, from sender: String = "sender@example.org", to recipients: [Recipient], arrival: Int64 = t0
) -> Envelope {
    var envelope = Envelope(
        queueID: qid(n), sender: sender, recipients: recipients, arrival: arrival, clientAddress: "192.0.2.1",
        clientHelo: "client.example.org", size: 100)
    DuplicateRecipients.mark(&envelope)
    return envelope
}

func delivered(_ index: UInt32, _ text: String = "delivered to mailbox") -> RecipientOutcome {
    RecipientOutcome(index: index, status: .delivered, text: text)
}

func deferred(_ index: UInt32, _ text: String = "4.2.0 mailbox busy") -> RecipientOutcome {
    RecipientOutcome(index: index, status: .deferred, text: text)
}

func failed(_ index: UInt32, _ text: String = "5.1.1 no such user") -> RecipientOutcome {
    RecipientOutcome(index: index, status: .failed, text: text)
}

extension QueueSettings {
    static let test = QueueSettings(hostname: "mx.example.test")
}

/// Drives one `QueueMachine` and renders its actions as transcript lines,
/// so that a test reads as a conversation between the queue and the world
/// and a changed log text or a missing persist fails it. It remembers what
/// the machine asked (lookups, notices, dispatches) so that tests can
/// answer by address.
struct QueueHarness {
    var machine: QueueMachine
    var now = t0
    let listener = FakePeer()
    let localPeer = FakePeer()
    let relayPeer = FakePeer()
    let lookupPeer = FakePeer()
    let admin = FakePeer()
    /// The last lookup asked for each address.
    var lookups: [String: LookupTag] = [:]
    /// Notices asked for and not yet answered, oldest first.
    var noticeOrders: [NoticeOrder] = []
    /// The last dispatch of each message.
    var dispatched: [QueueID: DispatchOrder] = [:]

    /// - Parameter attach: the peers attached before the test begins.
    init(
        settings: QueueSettings = .test, limits: QueueLimits = QueueLimits(),
        attach roles: [Role] = [.local, .relay, .lookup]
    ) {
        machine = QueueMachine(settings: settings, limits: limits)
        for role in roles { _ = send(.peerAttached(role, handle(role))) }
    }

    func handle(_ role: Role) -> Handle {
        switch role {
        case .listener: return Handle(listener)
        case .local: return Handle(localPeer)
        case .relay: return Handle(relayPeer)
        default: return Handle(lookupPeer)
        }
    }

    func requester(_ id: UInt32) -> Requester { Requester(peer: Handle(listener), requestID: id) }

    // MARK: events

    mutating func actions(_ event: QueueEvent) -> [QueueAction] {
        let actions = machine.handle(event, now: now)
        for action in actions { remember(action) }
        return actions
    }

    mutating func send(_ event: QueueEvent) -> [String] { actions(event).map(describe) }

    mutating func committed(_ envelopes: Envelope...) -> [String] {
        send(.commitBatchFinished(committed: envelopes))
    }

    mutating func localAnswers(_ id: QueueID, _ outcomes: RecipientOutcome...) -> [String] {
        send(.partFinished(id, .local, .outcomes(outcomes)))
    }

    mutating func relayAnswers(_ id: QueueID, _ outcomes: RecipientOutcome...) -> [String] {
        send(.partFinished(id, .relay, .outcomes(outcomes)))
    }

    mutating func tick(after seconds: Int64 = 0) -> [String] {
        now += seconds
        return send(.tick)
    }

    /// The lookup answers the question it was last asked about `address`.
    mutating func lookupAnswers(_ address: String, _ answer: LookupAnswer) -> [String] {
        guard let tag = lookups.removeValue(forKey: address) else {
            XCTFail("the lookup was not asked about \(address)")
            return []
        }
        return send(.lookedUp(tag, answer))
    }

    /// The oldest notice asked for is written under `id` (or fails).
    mutating func noticeWritten(as id: QueueID, _ failure: NoticeWriteResult? = nil) -> [String] {
        guard !noticeOrders.isEmpty else {
            XCTFail("no notice was asked for")
            return []
        }
        let order = noticeOrders.removeFirst()
        var notification = Envelope(
            queueID: id, sender: "", recipients: [order.recipient], arrival: order.now, clientAddress: "127.0.0.1",
            clientHelo: order.composer.hostname, size: 2000)
        notification.notice = order.notice.isDoubleBounce ? .doubleBounce : .dsn
        return send(.noticeWritten(tag: order.tag, failure ?? .queued(notification)))
    }

    mutating func control(_ line: String, access: ControlSocketAccess = .admin) -> [String] {
        send(.control(QueueCommand.parse(line), access: access, who: "uid=0, pid=42", reply: Handle(admin)))
    }

    private mutating func remember(_ action: QueueAction) {
        switch action {
        case .lookUp(let address, let tag): lookups[address] = tag
        case .writeNotice(let order): noticeOrders.append(order)
        case .dispatch(let order): dispatched[order.queueID] = order
        default: break
        }
    }

    // MARK: the transcript

    func describe(_ action: QueueAction) -> String {
        switch action {
        case .log(let line):
            var text = line.queueID.map { "\($0): " } ?? ""
            switch line.level {
            case .warning: text += "warning: "
            case .error: text += "error: "
            default: break
            }
            return "log " + text + line.text
        case .persist(let envelope, let durable):
            var text = "persist \(envelope.queueID) \(durable ? "durable" : "lazy") attempts=\(envelope.attempts)"
            text += " next=" + (envelope.nextAttempt == 0 ? "0" : "+\(envelope.nextAttempt - now)")
            if envelope.warned { text += " warned" }
            if envelope.held { text += " held" }
            for r in envelope.recipients {
                text += " \(r.address)=\(r.state)" + (r.notify == .never ? "(reported)" : "")
            }
            return text
        case .remove(let id):
            return "remove \(id)"
        case .dispatch(let order):
            let parts = order.parts.map { part in
                "\(part.role.rawValue): "
                    + part.job.recipients.map {
                        "\($0.index) \($0.address)" + ($0.maybeDelivered ? " (maybe delivered)" : "")
                    }.joined(separator: ", ")
            }
            return "dispatch \(order.queueID) " + parts.joined(separator: "; ")
        case .lookUp(let address, _):
            return "lookup \(address)"
        case .writeNotice(let order):
            let reported = order.notice.reportedRecipients.map(String.init).joined(separator: ",")
            return
                "write \(order.notice.event.rawValue) notice about \(order.about.queueID) to <\(order.recipient.address)>"
                + " reporting \(reported)" + (order.notice.isDoubleBounce ? " (double bounce)" : "")
        case .reject(let requester, let status):
            return "reject #\(requester.requestID) \(status.code) \(status.enhanced) \(status.text)"
        case .createSpoolFile(let requester):
            return "create spool file for #\(requester.requestID)"
        case .handOver(let requester, let id, let fd):
            return "hand over \(id) fd \(fd) to #\(requester.requestID)"
        case .commit(let batch):
            return "commit " + batch.map { "\($0.request.queueID)" }.joined(separator: ", ")
        case .discardUpload(let id, let fd):
            return "discard \(id) fd \(fd)"
        case .measureSpoolSpace(let forceReport):
            return "measure spool space" + (forceReport ? ", report" : "")
        case .reportSpoolSpace(let free):
            return "report spool space \(free)"
        case .answer(_, let text):
            return "answer: " + text
        case .exit:
            return "exit"
        }
    }
}
