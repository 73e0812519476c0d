import PosternCore
import PosternIPC
import XCTest

@testable import PosternLocal

/// The test clock's start (monotonic seconds).
let poolT0 = 1_000.0

/// Queue ids that read as numbers: 000000000001, 000000000002…
func poolQID(_ n: Int) -> QueueID {
    let digits = String(n)
    return QueueID(String(repeating: "0", count: max(0, QueueID.length - digits.count)) + digits) ?? QueueID.generate()
}

/// Part `n`: message `n`'s recipients for one worker key (indexes 0…).
func part(_ n: UInt64, _ user: String, jailed: Bool = false, recipients: Int = 1, fd: Int32 = 7) -> LocalPart {
    let list = (0..<recipients).map {
        DeliveryRecipient(index: UInt32($0), address: "\(user)\($0 == 0 ? "" : "+\($0)")@example.test", localUser: user)
    }
    return LocalPart(
        id: PartID(n), key: WorkerKey(user: user, jailed: jailed),
        job: DeliveryJob(queueID: poolQID(Int(n)), sender: "sender@example.org", arrival: 0, recipients: list),
        messageFD: fd)
}

func w(_ n: UInt64) -> WorkerID { WorkerID(n) }

func p(_ n: UInt64) -> PartID { PartID(n) }

/// Drives one `WorkerPoolMachine` and renders its actions as transcript
/// lines, so that a test reads as a conversation between the pool and its
/// workers and a changed log text or a missing close fails it.
struct PoolHarness {
    var machine: WorkerPoolMachine
    var now = poolT0

    init(settings: WorkerPoolSettings = WorkerPoolSettings()) {
        machine = WorkerPoolMachine(settings: settings)
    }

    mutating func send(_ event: WorkerPoolEvent) -> [String] {
        machine.handle(event, now: now).map(describe)
    }

    mutating func arrive(_ part: LocalPart) -> [String] { send(.partArrived(part)) }

    /// Worker `n` runs as pid 100 + n.
    mutating func spawned(_ id: WorkerID) -> [String] { send(.workerSpawned(id, pid: 100 + Int32(id.value))) }

    /// The part arrives, its worker is spawned: both transcripts, joined.
    mutating func arriveAndSpawn(_ part: LocalPart, as id: WorkerID) -> [String] {
        arrive(part) + spawned(id)
    }

    /// The worker delivered every recipient of the part.
    mutating func delivered(_ id: WorkerID, _ part: LocalPart) -> [String] {
        send(
            .jobAnswered(
                id, part.id,
                .outcomes(
                    part.job.recipients.map {
                        RecipientOutcome(index: $0.index, status: .delivered, text: "delivered to mailbox")
                    })))
    }

    mutating func answered(_ id: WorkerID, _ partID: PartID, _ answer: WorkerAnswer) -> [String] {
        send(.jobAnswered(id, partID, answer))
    }

    mutating func tick(after seconds: Double) -> [String] {
        now += seconds
        return send(.tick)
    }

    // MARK: the transcript

    func describe(_ action: WorkerPoolAction) -> String {
        switch action {
        case .spawn(let id, let key):
            return "spawn \(id) \(key)"
        case .send(let id, let part):
            return "send \(part.id) to \(id)"
        case .complete(let id, let outcomes):
            return "complete \(id): "
                + outcomes.map { o in
                    "\(o.index) \(o.status) (\(o.text))" + (o.interrupted ? " interrupted" : "")
                }.joined(separator: ", ")
        case .close(let id):
            return "close \(id)"
        case .kill(let id):
            return "kill \(id)"
        case .log(let line):
            return "log " + (line.level == .error ? "error: " : "") + line.text
        }
    }
}
