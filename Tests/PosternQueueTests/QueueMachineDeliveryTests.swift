import PosternCore
import PosternIPC
import XCTest

@testable import PosternQueue

/// Transcripts of the queue machine's delivery decisions: dispatch, the
/// outcomes of an attempt, the retry schedule, duplicates and the caps on
/// deliveries in flight.
final class QueueMachineDeliveryTests: XCTestCase {
    func testACommittedMessageGoesToLocalAndRelayAndLeavesWhenDelivered() {
        var q = QueueHarness()
        let m = message(
            1,
            to: [local("alice@example.test", "alice"), remote("bob@remote.test"), local("carol@example.test", "carol")])
        XCTAssertEqual(
            q.committed(m),
            ["dispatch 000000000001 local: 0 alice@example.test, 2 carol@example.test; relay: 1 bob@remote.test"])
        XCTAssertEqual(
            q.dispatched[qid(1)],
            DispatchOrder(
                queueID: qid(1),
                parts: [
                    DeliveryPart(
                        role: .local,
                        job: DeliveryJob(
                            queueID: qid(1), sender: "sender@example.org", arrival: t0,
                            recipients: [
                                DeliveryRecipient(index: 0, address: "alice@example.test", localUser: "alice"),
                                DeliveryRecipient(index: 2, address: "carol@example.test", localUser: "carol"),
                            ], size: 100)),
                    DeliveryPart(
                        role: .relay,
                        job: DeliveryJob(
                            queueID: qid(1), sender: "sender@example.org", arrival: t0,
                            recipients: [DeliveryRecipient(index: 1, address: "bob@remote.test", localUser: "")],
                            size: 100)),
                ]))
        XCTAssertEqual(q.machine.transportLoad, [.local: 1, .relay: 1])
        XCTAssertEqual(q.tick(after: 1), [], "in flight: not dispatched again")
        XCTAssertEqual(q.localAnswers(qid(1), delivered(0), delivered(2)), [], "the relay's part is still out")
        XCTAssertEqual(
            q.relayAnswers(qid(1), delivered(1, "250 2.0.0 Ok")),
            [
                "log 000000000001: to=<alice@example.test>, relay=local, status=sent (delivered to mailbox)",
                "log 000000000001: to=<carol@example.test>, relay=local, status=sent (delivered to mailbox)",
                "log 000000000001: to=<bob@remote.test>, relay=relay, status=sent (250 2.0.0 Ok)",
                "remove 000000000001",
                "log 000000000001: removed",
            ])
        XCTAssertTrue(q.machine.messages.isEmpty)
        XCTAssertTrue(q.machine.inFlight.isEmpty)
        XCTAssertEqual(q.machine.transportLoad, [.local: 0, .relay: 0])
    }

    func testDeferralsFollowTheRetryScheduleUpToItsMaximum() {
        var q = QueueHarness()
        _ = q.committed(message(1, to: [local("alice@example.test", "alice")]))
        XCTAssertEqual(
            q.localAnswers(qid(1), deferred(0)),
            [
                "log 000000000001: to=<alice@example.test>, relay=local, status=deferred (4.2.0 mailbox busy)",
                "persist 000000000001 lazy attempts=1 next=+300 alice@example.test=pending",
            ])
        XCTAssertEqual(q.tick(after: 299), [], "not due yet")
        // 5 minutes, doubling after each further deferral, up to an hour.
        for (attempts, delay) in [(2, 600), (3, 1200), (4, 2400), (5, 3600), (6, 3600)] {
            XCTAssertEqual(q.tick(after: 1), ["dispatch 000000000001 local: 0 alice@example.test"])
            XCTAssertEqual(
                q.localAnswers(qid(1), deferred(0)).last,
                "persist 000000000001 lazy attempts=\(attempts) next=+\(delay) alice@example.test=pending")
            XCTAssertEqual(q.machine.messages[qid(1)]?.nextAttempt, q.now + Int64(delay))
            q.now += Int64(delay) - 1
        }
    }

    func testTheRetrySettingsApply() {
        var q = QueueHarness(settings: QueueSettings(hostname: "mx.example.test", retryMinimum: 60, retryMaximum: 100))
        _ = q.committed(message(1, to: [local("alice@example.test", "alice")]))
        XCTAssertEqual(q.localAnswers(qid(1), deferred(0)).last?.contains("attempts=1 next=+60"), true)
        _ = q.tick(after: 60)
        XCTAssertEqual(q.localAnswers(qid(1), deferred(0)).last?.contains("attempts=2 next=+100"), true)
    }

    func testAPartWhoseProcessIsNotAttachedGoesAtTheNextTick() {
        var q = QueueHarness(attach: [.local, .lookup])
        _ = q.committed(message(1, to: [local("alice@example.test", "alice"), remote("bob@remote.test")]))
        XCTAssertEqual(q.dispatched[qid(1)]?.parts.map(\.role), [.local])
        XCTAssertEqual(
            q.localAnswers(qid(1), delivered(0)),
            [
                "log 000000000001: to=<alice@example.test>, relay=local, status=sent (delivered to mailbox)",
                "persist 000000000001 lazy attempts=0 next=+1 alice@example.test=delivered bob@remote.test=pending",
            ])
        XCTAssertEqual(q.send(.peerAttached(.relay, q.handle(.relay))), [])
        XCTAssertEqual(q.tick(after: 1), ["dispatch 000000000001 relay: 1 bob@remote.test"])
    }

    func testWithNoDeliveryProcessNothingIsDispatched() {
        var q = QueueHarness(attach: [])
        XCTAssertEqual(q.committed(message(1, to: [local("alice@example.test", "alice")])), [])
        XCTAssertEqual(q.machine.inFlight, [:])
        XCTAssertEqual(
            q.send(.peerAttached(.local, q.handle(.local))), ["dispatch 000000000001 local: 0 alice@example.test"])
    }

    func testARefusedJobOrANonsenseAnswerIsAnOrdinaryDeferral() {
        var q = QueueHarness()
        _ = q.committed(message(1, to: [local("alice@example.test", "alice"), local("carol@example.test", "carol")]))
        XCTAssertEqual(
            q.send(.partFinished(qid(1), .local, .rejected(SMTPReply(code: 451, enhanced: "4.3.2", text: "Busy")))),
            [
                "log 000000000001: to=<alice@example.test>, relay=local, status=deferred (4.3.2 Busy)",
                "log 000000000001: to=<carol@example.test>, relay=local, status=deferred (4.3.2 Busy)",
                "persist 000000000001 lazy attempts=1 next=+300 alice@example.test=pending carol@example.test=pending",
            ])
        _ = q.tick(after: 300)
        XCTAssertEqual(
            q.send(.partFinished(qid(1), .local, .nonsense)),
            [
                "log 000000000001: to=<alice@example.test>, relay=local, status=deferred (4.3.0 bad answer from local)",
                "log 000000000001: to=<carol@example.test>, relay=local, status=deferred (4.3.0 bad answer from local)",
                "persist 000000000001 lazy attempts=2 next=+600 alice@example.test=pending carol@example.test=pending",
            ])
    }

    func testOutcomesForRecipientsThePartWasNotAskedAboutAreIgnored() {
        var q = QueueHarness()
        _ = q.committed(message(1, to: [local("alice@example.test", "alice"), remote("bob@remote.test")]))
        _ = q.relayAnswers(qid(1), deferred(1, "4.4.1 no answer"))
        XCTAssertEqual(
            q.localAnswers(qid(1), delivered(0), delivered(1), delivered(7)),
            [
                "log 000000000001: to=<bob@remote.test>, relay=relay, status=deferred (4.4.1 no answer)",
                "log 000000000001: to=<alice@example.test>, relay=local, status=sent (delivered to mailbox)",
                "persist 000000000001 lazy attempts=1 next=+300 alice@example.test=delivered bob@remote.test=pending",
            ], "in the order the parts answered")
    }

    func testAMessageWhoseDataCannotBeOpenedLeavesTheQueue() {
        var q = QueueHarness()
        _ = q.committed(message(1, to: [local("alice@example.test", "alice"), remote("bob@remote.test")]))
        let error = SpoolError.noSuchMessage(qid(1))
        XCTAssertEqual(
            q.send(.messageDataUnreadable(qid(1), error)),
            ["log 000000000001: error: cannot open message data: \(error); removing it", "remove 000000000001"])
        XCTAssertEqual(q.machine.inFlight, [:])
        XCTAssertEqual(q.machine.transportLoad, [.local: 0, .relay: 0])
        XCTAssertNil(q.machine.messages[qid(1)])
    }

    // MARK: one copy per target

    func testADuplicateRidesOnItsPrimaryAndTakesItsOutcome() {
        var q = QueueHarness()
        let m = message(
            1,
            to: [
                local("bob@example.test", "bob"), local("BOB@other.example.test", "bob"),
                local("carol@example.test", "carol"),
            ])
        XCTAssertEqual(m.recipients[1].duplicateOf, 0)
        XCTAssertEqual(
            q.committed(m), ["dispatch 000000000001 local: 0 bob@example.test, 2 carol@example.test"],
            "the duplicate is not handed to local")
        XCTAssertEqual(
            q.localAnswers(qid(1), delivered(0), deferred(2)),
            [
                "log 000000000001: to=<bob@example.test>, relay=local, status=sent (delivered to mailbox)",
                "log 000000000001: to=<carol@example.test>, relay=local, status=deferred (4.2.0 mailbox busy)",
                "log 000000000001: to=<BOB@other.example.test>, status=sent (same delivery as <bob@example.test>: delivered to mailbox)",
                "persist 000000000001 lazy attempts=1 next=+300 bob@example.test=delivered"
                    + " BOB@other.example.test=delivered carol@example.test=pending",
            ])
    }

    func testADuplicateOfABouncedPrimaryBouncesToo() {
        var q = QueueHarness()
        _ = q.committed(
            message(
                1,
                to: [local("bob@example.test", "bob", notify: .never), local("b@example.test", "bob", notify: .never)]))
        XCTAssertEqual(
            q.localAnswers(qid(1), failed(0)),
            [
                "log 000000000001: to=<bob@example.test>, relay=local, status=bounced (5.1.1 no such user)",
                "log 000000000001: to=<b@example.test>, status=bounced (same delivery as <bob@example.test>: 5.1.1 no such user)",
                "remove 000000000001",
                "log 000000000001: removed",
            ], "NOTIFY=NEVER: nobody is told")
    }

    // MARK: caps

    func testOneTransportFillsItsShareAndNeverTheOthers() {
        var q = QueueHarness(limits: QueueLimits(maxInFlight: 10, maxPerTransport: 2))
        let actions = q.committed(
            message(1, to: [local("a@example.test", "a")]), message(2, to: [local("b@example.test", "b")]),
            message(3, to: [local("c@example.test", "c")]), message(4, to: [remote("d@remote.test")]))
        XCTAssertEqual(actions.filter { $0.contains(" local: ") }.count, 2, "local's share is full at two")
        XCTAssertEqual(actions.filter { $0.contains(" relay: ") }, ["dispatch 000000000004 relay: 0 d@remote.test"])
        XCTAssertEqual(q.machine.transportLoad, [.local: 2, .relay: 1])
        XCTAssertEqual(q.tick(after: 1), [], "still full")
        guard let done = q.machine.inFlight.keys.first(where: { $0 != qid(4) }) else { return XCTFail("no local") }
        _ = q.localAnswers(done, delivered(0))
        XCTAssertEqual(q.tick(after: 1).filter { $0.contains(" local: ") }.count, 1, "the third goes once one is done")
    }

    func testAtMostMaxInFlightMessagesAreOut() {
        var q = QueueHarness(limits: QueueLimits(maxInFlight: 3, maxPerTransport: 10))
        let envelopes = (1...5).map { message($0, to: [local("u\($0)@example.test", "u\($0)")]) }
        XCTAssertEqual(q.send(.commitBatchFinished(committed: envelopes)).count, 3)
        XCTAssertEqual(q.machine.inFlight.count, 3)
        XCTAssertEqual(q.tick(after: 1), [])
        for id in q.machine.inFlight.keys { _ = q.localAnswers(id, delivered(0)) }
        XCTAssertEqual(q.tick(after: 1).filter { $0.hasPrefix("dispatch") }.count, 2)
    }

    func testTheDefaultCapsAre200InFlightAnd150PerTransport() {
        var q = QueueHarness()
        let envelopes =
            (1...160).map { message($0, to: [local("u\($0)@example.test", "u\($0)")]) }
            + (161...260).map { message($0, to: [remote("u\($0)@remote.test")]) }
        let actions = q.send(.commitBatchFinished(committed: envelopes))
        XCTAssertEqual(actions.count, q.machine.inFlight.count)
        XCTAssertEqual(q.machine.inFlight.count, 200)
        XCTAssertLessThanOrEqual(q.machine.transportLoad[.local] ?? 0, 150)
        XCTAssertLessThanOrEqual(q.machine.transportLoad[.relay] ?? 0, 150)
        XCTAssertEqual((q.machine.transportLoad[.local] ?? 0) + (q.machine.transportLoad[.relay] ?? 0), 200)
    }
}
