import PosternIPC
import XCTest

@testable import PosternLocal

/// Transcripts of a worker's life after its spawn: death mid-job,
/// nonsense, protocol violations, the idle timeout, reloads, the shutdown
/// and the job deadline.
final class WorkerPoolMachineLifeTests: XCTestCase {
    func testAWorkerThatDiesMidJobAnswersInterruptedAndIsReplaced() {
        var pool = PoolHarness()
        _ = pool.arriveAndSpawn(part(1, "alice", recipients: 2), as: w(1))
        XCTAssertEqual(pool.arrive(part(2, "alice")), ["send p2 to w1"])
        XCTAssertEqual(
            pool.answered(w(1), p(1), .lost),
            [
                "complete p1: 0 deferred (4.3.0 delivery worker ended) interrupted,"
                    + " 1 deferred (4.3.0 delivery worker ended) interrupted",
                "close w1",
            ])
        XCTAssertEqual(
            pool.answered(w(1), p(2), .lost), ["complete p2: 0 deferred (4.3.0 delivery worker ended) interrupted"])
        XCTAssertEqual(pool.arrive(part(3, "alice")), ["spawn w2 alice"], "the dead worker is forgotten")
        XCTAssertEqual(pool.send(.workerClosed(w(1), violation: nil)), [])
        XCTAssertEqual(Array(pool.machine.workers.keys), [w(2)])
    }

    func testAWorkerWhoseChannelEndsIsForgotten() {
        var pool = PoolHarness(settings: WorkerPoolSettings(limit: 1))
        let a = part(1, "alice")
        _ = pool.arriveAndSpawn(a, as: w(1))
        XCTAssertEqual(pool.arrive(part(2, "bob")), [])
        XCTAssertEqual(
            pool.send(.workerClosed(w(1), violation: nil)),
            ["complete p1: 0 deferred (4.3.0 delivery worker ended) interrupted", "spawn w2 bob"],
            "a part left unanswered is answered as lost; the slot goes to the waiting part")
        XCTAssertEqual(pool.delivered(w(1), a), [], "gone: a stray answer changes nothing")
    }

    func testANonsenseAnswerIsInterruptedAndTheWorkerStays() {
        var pool = PoolHarness()
        _ = pool.arriveAndSpawn(part(1, "alice"), as: w(1))
        XCTAssertEqual(
            pool.answered(w(1), p(1), .nonsense),
            ["complete p1: 0 deferred (4.3.0 bad answer from delivery worker) interrupted"])
        XCTAssertEqual(pool.arrive(part(2, "alice")), ["send p2 to w1"])
    }

    func testAProtocolViolationGetsTheWorkerKilled() {
        var pool = PoolHarness()
        _ = pool.arriveAndSpawn(part(1, "alice"), as: w(1))
        _ = pool.answered(w(1), p(1), .lost)
        XCTAssertEqual(
            pool.send(.workerClosed(w(1), violation: "frameTooLarge(70000)")),
            ["log error: protocol violation by the worker for alice: frameTooLarge(70000)", "kill w1"])
        XCTAssertTrue(pool.machine.workers.isEmpty)
    }

    func testTheIdleTimeoutClosesOnlyIdleWorkers() {
        var pool = PoolHarness(settings: WorkerPoolSettings(idleTimeout: 60))
        let (a, b) = (part(1, "alice"), part(2, "bob"))
        _ = pool.arriveAndSpawn(a, as: w(1))
        _ = pool.arriveAndSpawn(b, as: w(2))
        _ = pool.delivered(w(1), a)
        XCTAssertEqual(pool.tick(after: 60), [], "idle for 60 s, not more")
        XCTAssertEqual(
            pool.tick(after: 1), ["log closing idle delivery worker, user=alice, pid=101", "close w1"],
            "bob's is busy and stays")
        XCTAssertEqual(pool.arrive(part(3, "alice")), ["spawn w3 alice"], "a closed worker takes no more work")
        _ = pool.delivered(w(2), b)
        XCTAssertEqual(pool.tick(after: 60), [])
        XCTAssertEqual(
            pool.tick(after: 1), ["log closing idle delivery worker, user=bob, pid=102", "close w2"],
            "counted from its last answer; w3 is still starting")
        XCTAssertEqual(pool.tick(after: 100), [], "closed once")
    }

    func testAReloadChangesTheLimitAndTheIdleTimeout() {
        var pool = PoolHarness(settings: WorkerPoolSettings(limit: 1, idleTimeout: 60))
        let a = part(1, "alice")
        _ = pool.arriveAndSpawn(a, as: w(1))
        XCTAssertEqual(pool.arrive(part(2, "bob")), [])
        XCTAssertEqual(
            pool.send(.reloaded(WorkerPoolSettings(limit: 2, idleTimeout: 10))), ["spawn w2 bob"],
            "room for the waiting part at once")
        _ = pool.delivered(w(1), a)
        XCTAssertEqual(
            pool.tick(after: 11), ["log closing idle delivery worker, user=alice, pid=101", "close w1"],
            "the new idle timeout")
        _ = pool.spawned(w(2))
        XCTAssertEqual(pool.send(.reloaded(WorkerPoolSettings(limit: 1))), [], "a lower limit closes nothing")
        XCTAssertEqual(pool.arrive(part(3, "carol")), [], "bob's worker is busy: carol waits")
    }

    func testCloseAllClosesEveryWorkerAndStartsNothingNew() {
        var pool = PoolHarness()
        let (a, b) = (part(1, "alice"), part(2, "bob"))
        _ = pool.arriveAndSpawn(a, as: w(1))
        _ = pool.delivered(w(1), a)
        _ = pool.arriveAndSpawn(b, as: w(2))
        XCTAssertEqual(pool.arrive(part(3, "carol")), ["spawn w3 carol"])
        XCTAssertEqual(pool.send(.closeAll), ["close w1", "close w2"])
        XCTAssertEqual(pool.spawned(w(3)), ["close w3"], "closed once its spawn answers; its part is not sent")
        XCTAssertEqual(pool.arrive(part(4, "alice")), [])
        XCTAssertEqual(pool.arrive(part(5, "dave")), [])
        XCTAssertEqual(
            pool.delivered(w(2), b), ["complete p2: 0 delivered (delivered to mailbox)"],
            "an answer that comes is passed on")
        XCTAssertEqual(pool.tick(after: 3600), [])
    }

    // MARK: the job deadline

    func testTheJobDeadlineIsGenerous() {
        XCTAssertEqual(WorkerPoolSettings(pipeTimeout: 1_000).jobDeadline(recipients: 1), 1_060)
        XCTAssertEqual(WorkerPoolSettings(pipeTimeout: 1_000).jobDeadline(recipients: 3), 3_180, "one after another")
        XCTAssertEqual(WorkerPoolSettings(pipeTimeout: 30).jobDeadline(recipients: 1), 600, "never under ten minutes")
        XCTAssertEqual(WorkerPoolSettings(pipeTimeout: 30).jobDeadline(recipients: 0), 600)
    }

    func testAWorkerPastItsJobDeadlineIsKilledAndItsPartsAnsweredInterrupted() {
        var pool = PoolHarness(settings: WorkerPoolSettings(pipeTimeout: 1_000))
        _ = pool.arriveAndSpawn(part(1, "alice"), as: w(1))
        XCTAssertEqual(pool.arrive(part(2, "alice", recipients: 2)), ["send p2 to w1"])
        XCTAssertEqual(pool.tick(after: 1_060), [], "at the deadline, not past it")
        XCTAssertEqual(
            pool.tick(after: 1),
            [
                "log error: delivery worker for alice has not answered 000000000001 for 1061s (deadline 1060s);"
                    + " killing pid=101",
                "kill w1",
                "complete p1: 0 deferred (4.3.0 delivery worker did not answer in time) interrupted",
                "complete p2: 0 deferred (4.3.0 delivery worker did not answer in time) interrupted,"
                    + " 1 deferred (4.3.0 delivery worker did not answer in time) interrupted",
            ])
        XCTAssertEqual(pool.answered(w(1), p(1), .lost), [], "answered already")
        XCTAssertEqual(pool.arrive(part(3, "alice")), ["spawn w2 alice"], "a new worker for the next job")
        XCTAssertEqual(pool.send(.workerClosed(w(1), violation: nil)), [])
        XCTAssertEqual(pool.tick(after: 1), [], "killed once")
    }

    func testTheDeadlineCountsFromWhenTheWorkerBeganTheJob() {
        var pool = PoolHarness(settings: WorkerPoolSettings(pipeTimeout: 1_000))
        let first = part(1, "alice")
        _ = pool.arriveAndSpawn(first, as: w(1))
        _ = pool.arrive(part(2, "alice"))
        pool.now += 1_000
        _ = pool.delivered(w(1), first)
        XCTAssertEqual(pool.tick(after: 1_060), [], "the second job began when the first was answered")
        XCTAssertEqual(
            pool.tick(after: 1),
            [
                "log error: delivery worker for alice has not answered 000000000002 for 1061s (deadline 1060s);"
                    + " killing pid=101",
                "kill w1",
                "complete p2: 0 deferred (4.3.0 delivery worker did not answer in time) interrupted",
            ])
    }

    func testAnIdleOrStartingWorkerHasNoDeadline() {
        var pool = PoolHarness(settings: WorkerPoolSettings(idleTimeout: 86_400, pipeTimeout: 1_000))
        let a = part(1, "alice")
        _ = pool.arriveAndSpawn(a, as: w(1))
        _ = pool.delivered(w(1), a)
        XCTAssertEqual(pool.arrive(part(2, "bob")), ["spawn w2 bob"])
        XCTAssertEqual(pool.tick(after: 5_000), [])
    }
}
