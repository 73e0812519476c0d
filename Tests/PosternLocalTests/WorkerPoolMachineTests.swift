import PosternIPC
import XCTest

@testable import PosternLocal

/// Transcripts of the pool's placement decisions: a worker spawned on a
/// key's first part and reused after, the limit with the least recently
/// used idle worker closed to make room, parts waiting in a full and busy
/// pool and starting in order, and spawn failures answered with their
/// outcome.
final class WorkerPoolMachineTests: XCTestCase {
    func testTheFirstPartSpawnsAWorkerAndLaterPartsReuseIt() {
        var pool = PoolHarness()
        let first = part(1, "alice")
        XCTAssertEqual(pool.arrive(first), ["spawn w1 alice"])
        XCTAssertEqual(pool.spawned(w(1)), ["log started delivery worker, user=alice, pid=101", "send p1 to w1"])
        XCTAssertEqual(pool.delivered(w(1), first), ["complete p1: 0 delivered (delivered to mailbox)"])
        XCTAssertEqual(pool.arrive(part(2, "alice")), ["send p2 to w1"])
        XCTAssertEqual(pool.arrive(part(3, "alice")), ["send p3 to w1"], "a busy worker takes its jobs in order")
        XCTAssertEqual(
            pool.arrive(part(4, "alice", jailed: true)), ["spawn w2 alice (SafeFileEnvironment)"],
            "a user's file worker is another process")
        XCTAssertEqual(pool.arrive(part(5, "bob")), ["spawn w3 bob"])
        XCTAssertEqual(pool.machine.serving.count, 3)
    }

    func testPartsForAStartingWorkerAreSentOnceItRuns() {
        var pool = PoolHarness()
        XCTAssertEqual(pool.arrive(part(1, "bob")), ["spawn w1 bob"])
        XCTAssertEqual(pool.arrive(part(2, "bob")), [], "one spawn per key")
        XCTAssertEqual(
            pool.spawned(w(1)), ["log started delivery worker, user=bob, pid=101", "send p1 to w1", "send p2 to w1"])
    }

    func testAFullPoolClosesTheLeastRecentlyUsedIdleWorker() {
        var pool = PoolHarness(settings: WorkerPoolSettings(limit: 2))
        let (a, b) = (part(1, "alice"), part(2, "bob"))
        _ = pool.arriveAndSpawn(a, as: w(1))
        _ = pool.arriveAndSpawn(b, as: w(2))
        pool.now += 1
        _ = pool.delivered(w(2), b)
        pool.now += 1
        _ = pool.delivered(w(1), a)
        XCTAssertEqual(pool.arrive(part(3, "carol")), ["close w2", "spawn w3 carol"], "bob's is the older idle one")
        XCTAssertEqual(
            pool.machine.serving,
            [WorkerKey(user: "alice", jailed: false): w(1), WorkerKey(user: "carol", jailed: false): w(3)])
        XCTAssertEqual(pool.send(.workerClosed(w(2), violation: nil)), [])
        XCTAssertEqual(pool.arrive(part(4, "dave")), ["close w1", "spawn w4 dave"])
    }

    func testABusyFullPoolMakesPartsWaitAndStartsThemInOrder() {
        var pool = PoolHarness(settings: WorkerPoolSettings(limit: 2))
        let (a, b) = (part(1, "alice"), part(2, "bob"))
        _ = pool.arriveAndSpawn(a, as: w(1))
        _ = pool.arriveAndSpawn(b, as: w(2))
        XCTAssertEqual(pool.arrive(part(3, "carol")), [], "full and busy: it waits")
        XCTAssertEqual(pool.arrive(part(4, "dave")), [])
        let a2 = part(5, "alice")
        XCTAssertEqual(pool.arrive(a2), ["send p5 to w1"], "a key with a worker does not wait")
        XCTAssertEqual(pool.delivered(w(1), a), ["complete p1: 0 delivered (delivered to mailbox)"], "still busy")
        XCTAssertEqual(
            pool.delivered(w(1), a2),
            ["complete p5: 0 delivered (delivered to mailbox)", "close w1", "spawn w3 carol"],
            "the oldest waiting part first")
        XCTAssertEqual(pool.machine.waiting.map(\.id), [p(4)], "no room for dave yet")
        XCTAssertEqual(pool.spawned(w(3)), ["log started delivery worker, user=carol, pid=103", "send p3 to w3"])
        XCTAssertEqual(
            pool.delivered(w(2), b), ["complete p2: 0 delivered (delivered to mailbox)", "close w2", "spawn w4 dave"])
        XCTAssertTrue(pool.machine.waiting.isEmpty)
    }

    func testAWaitingPartWhoseKeyGetsAWorkerGoesToThatWorker() {
        var pool = PoolHarness(settings: WorkerPoolSettings(limit: 1))
        let a = part(1, "alice")
        _ = pool.arriveAndSpawn(a, as: w(1))
        XCTAssertEqual(pool.arrive(part(2, "bob")), [])
        XCTAssertEqual(pool.arrive(part(3, "bob")), [])
        XCTAssertEqual(
            pool.delivered(w(1), a), ["complete p1: 0 delivered (delivered to mailbox)", "close w1", "spawn w2 bob"])
        XCTAssertEqual(
            pool.spawned(w(2)), ["log started delivery worker, user=bob, pid=102", "send p2 to w2", "send p3 to w2"])
    }

    func testSpawnFailuresAnswerWithTheirOutcome() {
        var pool = PoolHarness()
        XCTAssertEqual(pool.arrive(part(1, "nosuch")), ["spawn w1 nosuch"])
        XCTAssertEqual(pool.send(.workerNotSpawned(w(1), .unknownUser)), ["complete p1: 0 failed (5.1.1 user unknown)"])
        XCTAssertEqual(pool.arrive(part(2, "root", jailed: true)), ["spawn w2 root (SafeFileEnvironment)"])
        XCTAssertEqual(
            pool.send(.workerNotSpawned(w(2), .fileDeliveryAsRoot)),
            ["complete p2: 0 failed (5.7.1 file deliveries do not run as root)"])
        XCTAssertEqual(pool.arrive(part(3, "alice", recipients: 2)), ["spawn w3 alice"])
        XCTAssertEqual(
            pool.send(.workerNotSpawned(w(3), .cannotStart(reason: "posix_spawn local-worker failed: errno 11"))),
            [
                "log error: cannot start a delivery worker for alice: posix_spawn local-worker failed: errno 11",
                "complete p3: 0 deferred (4.3.0 cannot start delivery worker), 1 deferred (4.3.0 cannot start delivery worker)",
            ], "nothing was started: not interrupted")
        XCTAssertTrue(pool.machine.workers.isEmpty)
        XCTAssertEqual(pool.arrive(part(4, "nosuch")), ["spawn w4 nosuch"], "no failure is remembered")
    }

    func testAFailedSpawnMakesRoomForAWaitingPart() {
        var pool = PoolHarness(settings: WorkerPoolSettings(limit: 1))
        XCTAssertEqual(pool.arrive(part(1, "nosuch")), ["spawn w1 nosuch"])
        XCTAssertEqual(pool.arrive(part(2, "carol")), [], "the starting worker holds the only slot")
        XCTAssertEqual(
            pool.send(.workerNotSpawned(w(1), .unknownUser)),
            ["complete p1: 0 failed (5.1.1 user unknown)", "spawn w2 carol"])
    }
}
