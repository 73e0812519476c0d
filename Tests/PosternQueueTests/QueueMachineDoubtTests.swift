import PosternCore
import PosternIPC
import XCTest

@testable import PosternQueue

/// Transcripts of interrupted attempts and recovery: a recipient whose
/// delivery may have happened is retried within a second, and its next job
/// says so, so that local delivery looks for the earlier copy first.
final class QueueMachineDoubtTests: XCTestCase {
    func testALostChannelMarksItsRecipientsMaybeDeliveredAndRetriesSoon() {
        var q = QueueHarness()
        _ = q.committed(message(1, to: [local("alice@example.test", "alice"), local("carol@example.test", "carol")]))
        XCTAssertEqual(
            q.send(.partFinished(qid(1), .local, .channelLost)),
            [
                "log 000000000001: to=<alice@example.test>, relay=local, status=deferred (4.3.0 local restarted)",
                "log 000000000001: to=<carol@example.test>, relay=local, status=deferred (4.3.0 local restarted)",
                "persist 000000000001 lazy attempts=0 next=+1 alice@example.test=pending carol@example.test=pending",
            ], "not on the retry schedule, and no attempt counted")
        XCTAssertEqual(q.machine.maybeDelivered, [qid(1): [0, 1]])
        XCTAssertEqual(
            q.tick(after: 1),
            [
                "dispatch 000000000001 local: 0 alice@example.test (maybe delivered),"
                    + " 1 carol@example.test (maybe delivered)"
            ])
        // An answer from a delivery that ran to its end settles the doubt.
        XCTAssertEqual(
            q.localAnswers(qid(1), delivered(0), deferred(1)),
            [
                "log 000000000001: to=<alice@example.test>, relay=local, status=sent (delivered to mailbox)",
                "log 000000000001: to=<carol@example.test>, relay=local, status=deferred (4.2.0 mailbox busy)",
                "persist 000000000001 lazy attempts=1 next=+300 alice@example.test=delivered carol@example.test=pending",
            ])
        XCTAssertEqual(q.machine.maybeDelivered, [:])
        XCTAssertEqual(q.tick(after: 300), ["dispatch 000000000001 local: 1 carol@example.test"])
    }

    func testAnInterruptedOutcomeFromTheProcessIsInDoubtToo() {
        var q = QueueHarness()
        _ = q.committed(message(1, to: [local("alice@example.test", "alice"), remote("bob@remote.test")]))
        _ = q.relayAnswers(qid(1), deferred(1, "4.4.1 no answer"))
        let died = RecipientOutcome(index: 0, status: .deferred, text: "4.3.0 worker died", interrupted: true)
        XCTAssertEqual(
            q.localAnswers(qid(1), died).last,
            "persist 000000000001 lazy attempts=0 next=+1 alice@example.test=pending bob@remote.test=pending",
            "one interrupted outcome makes the whole message go again soon")
        XCTAssertEqual(q.machine.maybeDelivered, [qid(1): [0]])
        XCTAssertEqual(
            q.tick(after: 1),
            ["dispatch 000000000001 local: 0 alice@example.test (maybe delivered); relay: 1 bob@remote.test"])
    }

    func testRecoveryMarksEveryPendingRecipientMaybeDelivered() {
        var q = QueueHarness()
        var first = message(
            1, to: [local("a@example.test", "a"), local("b@example.test", "b"), remote("c@remote.test")])
        first.recipients[0].state = .delivered
        first.attempts = 2
        first.nextAttempt = t0 - 10
        var second = message(2, to: [local("d@example.test", "d")], arrival: t0 - 100)
        second.nextAttempt = t0 + 500
        XCTAssertEqual(
            q.send(.recovered([first, second], problems: ["queue: removed msg/XYZ.t (stale temporary file)"])),
            [
                "log warning: queue: removed msg/XYZ.t (stale temporary file)",
                "log spool recovered, messages=2",
            ])
        XCTAssertEqual(q.machine.maybeDelivered, [qid(1): [1, 2], qid(2): [0]])
        XCTAssertEqual(
            q.tick(),
            [
                "dispatch 000000000001 local: 1 b@example.test (maybe delivered); relay: 2 c@remote.test (maybe delivered)"
            ],
            "the second is not due yet")
    }

    func testRecoveryOfAFinishedMessageMarksNothingAndFinishesIt() {
        var q = QueueHarness()
        var done = message(1, to: [local("a@example.test", "a")])
        done.recipients[0].state = .delivered
        XCTAssertEqual(q.send(.recovered([done], problems: [])), ["log spool recovered, messages=1"])
        XCTAssertEqual(q.machine.maybeDelivered, [:])
        XCTAssertEqual(q.tick(), ["remove 000000000001", "log 000000000001: removed"])
    }
}
