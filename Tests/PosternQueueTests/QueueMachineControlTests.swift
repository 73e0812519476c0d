import PosternCore
import PosternIPC
import XCTest

@testable import PosternQueue

/// Transcripts of the administrator's commands and of the shutdown drain.
final class QueueMachineControlTests: XCTestCase {
    private func deferredQueue() -> QueueHarness {
        var q = QueueHarness()
        _ = q.committed(message(1, to: [local("alice@example.test", "alice")]))
        _ = q.localAnswers(qid(1), deferred(0))
        return q
    }

    func testHoldKeepsAMessageFromDeliveryAndReleaseLetsItGoNow() {
        var q = deferredQueue()
        XCTAssertEqual(
            q.control("hold 000000000001"),
            [
                "persist 000000000001 durable attempts=1 next=+300 held alice@example.test=pending",
                "log 000000000001: control: hold by uid=0, pid=42",
                "answer: 000000000001 held\n",
            ])
        XCTAssertEqual(q.tick(after: 300), [], "held")
        XCTAssertEqual(q.control("flush"), ["log control: flush all by uid=0, pid=42", "answer: flushed 0 messages\n"])
        XCTAssertEqual(
            q.control("release 000000000001"),
            [
                "persist 000000000001 durable attempts=1 next=0 alice@example.test=pending",
                "log 000000000001: control: release by uid=0, pid=42",
                "dispatch 000000000001 local: 0 alice@example.test",
                "answer: 000000000001 released\n",
            ])
    }

    func testFlushMakesEveryMessageDueNow() {
        var q = deferredQueue()
        XCTAssertEqual(
            q.control("flush"),
            [
                "log control: flush all by uid=0, pid=42",
                "dispatch 000000000001 local: 0 alice@example.test",
                "answer: flushed 1 message\n",
            ])
        XCTAssertEqual(
            q.control("flush 000000000009"),
            ["log control: flush 000000000009 by uid=0, pid=42", "answer: error: 000000000009 is not in the queue\n"])
    }

    func testASelectiveFlushTakesOnlyTheMessagesItNames() {
        var q = deferredQueue()
        XCTAssertEqual(
            q.control("flush-where rcpt:bob"),
            ["log control: selective flush by uid=0, pid=42", "answer: flushed 0 messages\n"])
        XCTAssertEqual(
            q.control("flush-where rcpt:ALICE from:example.org"),
            [
                "log control: selective flush by uid=0, pid=42",
                "dispatch 000000000001 local: 0 alice@example.test",
                "answer: flushed 1 message\n",
            ])
        XCTAssertEqual(
            q.control("flush-where who:x"), ["answer: error: who:x is not id:S, rcpt:S or from:S\n"])
    }

    func testDeleteRemovesAMessageWithoutANoticeButNotWhileItIsOut() {
        var q = QueueHarness()
        _ = q.committed(message(1, to: [local("alice@example.test", "alice")]))
        XCTAssertEqual(
            q.control("delete 000000000001"), ["answer: error: 000000000001 is being delivered; try again\n"])
        _ = q.localAnswers(qid(1), deferred(0))
        XCTAssertEqual(
            q.control("delete 000000000001"),
            [
                "remove 000000000001",
                "log 000000000001: control: deleted by uid=0, pid=42, no notice sent",
                "answer: 000000000001 deleted\n",
            ])
        XCTAssertNil(q.machine.messages[qid(1)])
        XCTAssertEqual(q.control("delete 000000000001"), ["answer: error: 000000000001 is not in the queue\n"])
    }

    func testCountShowAndList() {
        var q = deferredQueue()
        var held = message(2, to: [remote("bob@remote.test"), remote("carol@remote.test")], arrival: t0 + 5)
        held.held = true
        _ = q.send(.recovered([held], problems: []))
        XCTAssertEqual(q.control("count"), ["answer: 2 messages, 3 recipients pending, 1 held\n"])
        XCTAssertEqual(
            q.control("show 000000000001"),
            ["answer: " + QueueListing.details(q.machine.messages[qid(1)] ?? held)])
        XCTAssertEqual(
            q.control("list", access: .everyone),
            [
                "answer: "
                    + QueueListing.mailq(
                        [q.machine.messages[qid(1)], q.machine.messages[qid(2)]].compactMap { $0 }, inFlight: [])
            ])
        XCTAssertEqual(q.control("bogus"), ["answer: error: unknown command; \(QueueCommand.usage)\n"])
    }

    func testThePublicSocketIsRestricted() {
        var q = QueueHarness(
            settings: QueueSettings(hostname: "mx.example.test", restrictMailq: true, restrictQrun: true))
        // Each refusal is logged with who asked.
        func refused(_ verb: String, _ why: String) -> [String] {
            [
                "log warning: control: refused \(verb) by uid=0, pid=42 (\(why))",
                "answer: error: permission denied (\(why))\n",
            ]
        }
        XCTAssertEqual(q.control("list", access: .everyone), refused("list", "restrictmailq"))
        XCTAssertEqual(q.control("count", access: .everyone), refused("count", "restrictmailq"))
        XCTAssertEqual(q.control("flush", access: .everyone), refused("flush", "restrictqrun"))
        XCTAssertEqual(
            q.control("hold 000000000001", access: .everyone), refused("hold", "queue administrators only"))
        var open = QueueHarness()
        XCTAssertEqual(open.control("list", access: .everyone), ["answer: Mail queue is empty\n"])
        XCTAssertEqual(
            open.control("flush", access: .everyone),
            ["log control: flush all by uid=0, pid=42", "answer: flushed 0 messages\n"])
    }

    // MARK: drain

    func testDrainWaitsForDeliveriesInFlightAndDispatchesNothingNew() {
        var q = QueueHarness()
        _ = q.committed(message(1, to: [local("alice@example.test", "alice")]))
        XCTAssertEqual(q.send(.drainRequested), ["log draining, deliveries in flight=1"])
        XCTAssertEqual(q.send(.openRequested(q.requester(7))), ["reject #7 451 4.3.2 Queue busy, try again later"])
        XCTAssertEqual(q.committed(message(2, to: [local("bob@example.test", "bob")])), [], "kept, not dispatched")
        XCTAssertEqual(q.send(.drainCheck(deadlinePassed: false)), [])
        _ = q.localAnswers(qid(1), deferred(0))
        XCTAssertEqual(q.tick(after: 300), [])
        XCTAssertEqual(q.send(.drainCheck(deadlinePassed: false)), ["log stopped", "exit"])
    }

    func testDrainStopsAtItsDeadlineAndWaitsForCommits() {
        var q = QueueHarness()
        _ = q.committed(message(1, to: [local("alice@example.test", "alice")]))
        _ = q.send(.drainRequested)
        XCTAssertEqual(q.send(.drainCheck(deadlinePassed: true)), ["log stopped", "exit"])

        var c = QueueHarness()
        _ = c.send(.spoolFileCreated(c.requester(1), .success((qid(3), 30))))
        _ = c.send(
            .commitRequested(
                CommitRequest(
                    queueID: qid(3), sender: "s@example.org", recipients: [local("a@example.test", "a")],
                    clientAddress: "192.0.2.1", clientHelo: "c", authUser: ""), c.requester(2)))
        XCTAssertEqual(c.send(.drainRequested), ["log draining, deliveries in flight=0"], "a commit is running")
        XCTAssertEqual(c.send(.commitBatchFinished(committed: [])), [])
        XCTAssertEqual(c.send(.drainCheck(deadlinePassed: false)), ["log stopped", "exit"])
    }

    func testAReloadChangesTheSettings() {
        var q = QueueHarness()
        _ = q.send(.reloaded(QueueSettings(hostname: "mx.example.test", retryMinimum: 30)))
        _ = q.committed(message(1, to: [local("alice@example.test", "alice")]))
        XCTAssertEqual(q.localAnswers(qid(1), deferred(0)).last?.contains("next=+30"), true)
    }
}
