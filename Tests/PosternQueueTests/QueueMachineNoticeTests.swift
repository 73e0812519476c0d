import PosternCore
import PosternIPC
import XCTest

@testable import PosternQueue

/// Transcripts of the notices the queue sends itself: bounces (at once for
/// a permanent failure, at the end, at expiry), the delay warning, success
/// reports, and what happens when the sender or the lookup cannot be reached.
final class QueueMachineNoticeTests: XCTestCase {
    func testAFailureIsReportedAtOnceWhileOthersWait() {
        var q = QueueHarness()
        _ = q.committed(message(1, to: [local("alice@example.test", "alice"), local("carol@example.test", "carol")]))
        XCTAssertEqual(
            q.localAnswers(qid(1), failed(0), deferred(1)),
            [
                "log 000000000001: to=<alice@example.test>, relay=local, status=bounced (5.1.1 no such user)",
                "log 000000000001: to=<carol@example.test>, relay=local, status=deferred (4.2.0 mailbox busy)",
                "persist 000000000001 lazy attempts=1 next=+300 alice@example.test=failed carol@example.test=pending",
                "lookup sender@example.org",
            ])
        XCTAssertEqual(q.tick(after: 300), [], "being notified about: not dispatched")
        XCTAssertEqual(
            q.lookupAnswers("sender@example.org", .remote(address: "sender@example.org")),
            ["write failed notice about 000000000001 to <sender@example.org> reporting 0"])
        XCTAssertEqual(
            q.noticeOrders.first?.recipient, Recipient(address: "sender@example.org", localUser: "", notify: .never))
        XCTAssertEqual(
            q.noticeOrders.first?.timing,
            DSNTiming(
                date: RFC5322Date.format(epochSeconds: q.now), arrivalDate: RFC5322Date.format(epochSeconds: t0),
                lastAttemptDate: RFC5322Date.format(epochSeconds: q.now)))
        XCTAssertEqual(
            q.noticeWritten(as: qid(100)),
            [
                "log 000000000100: queued, from=<>, size=2000, nrcpt=1, notice=failed about 000000000001,"
                    + " to=<sender@example.org>",
                "persist 000000000001 durable attempts=1 next=+0 alice@example.test=failed(reported)"
                    + " carol@example.test=pending",
            ])
        XCTAssertEqual(q.machine.messages[qid(100)]?.notice, .dsn)
        let next = q.tick().sorted()
        XCTAssertEqual(
            next,
            ["dispatch 000000000001 local: 1 carol@example.test", "dispatch 000000000100 relay: 0 sender@example.org"])
        // The final notice does not report alice again.
        XCTAssertEqual(
            q.localAnswers(qid(1), delivered(1)),
            [
                "log 000000000001: to=<carol@example.test>, relay=local, status=sent (delivered to mailbox)",
                "remove 000000000001",
                "log 000000000001: removed",
            ])
    }

    func testAMessageThatFailsIsBouncedThenRemoved() {
        var q = QueueHarness()
        _ = q.committed(message(1, to: [local("alice@example.test", "alice")]))
        XCTAssertEqual(
            q.localAnswers(qid(1), failed(0)),
            [
                "log 000000000001: to=<alice@example.test>, relay=local, status=bounced (5.1.1 no such user)",
                "lookup sender@example.org",
            ])
        XCTAssertEqual(
            q.lookupAnswers("sender@example.org", .local(user: "sender")),
            ["write failed notice about 000000000001 to <sender@example.org> reporting 0"])
        XCTAssertEqual(q.noticeOrders.first?.recipient.localUser, "sender")
        XCTAssertEqual(
            q.noticeWritten(as: qid(100)),
            [
                "log 000000000100: queued, from=<>, size=2000, nrcpt=1, notice=failed about 000000000001,"
                    + " to=<sender@example.org>",
                "remove 000000000001",
                "log 000000000001: removed",
            ])
    }

    func testASuccessReportFollowsTheBounceWhenAskedFor() {
        var q = QueueHarness()
        _ = q.committed(
            message(1, to: [local("a@example.test", "a", notify: .success), local("b@example.test", "b")]))
        _ = q.localAnswers(qid(1), delivered(0), failed(1))
        _ = q.lookupAnswers("sender@example.org", .remote(address: "sender@example.org"))
        XCTAssertEqual(
            q.noticeWritten(as: qid(100)),
            [
                "log 000000000100: queued, from=<>, size=2000, nrcpt=1, notice=failed about 000000000001,"
                    + " to=<sender@example.org>",
                "lookup sender@example.org",
            ])
        XCTAssertEqual(
            q.lookupAnswers("sender@example.org", .remote(address: "sender@example.org")),
            ["write delivered notice about 000000000001 to <sender@example.org> reporting 0"])
        XCTAssertEqual(q.noticeWritten(as: qid(101)).suffix(2), ["remove 000000000001", "log 000000000001: removed"])
    }

    func testWhenTheSenderIsRefusedThePostmasterIsTold() {
        var q = QueueHarness()
        _ = q.committed(message(1, to: [local("alice@example.test", "alice")]))
        _ = q.localAnswers(qid(1), failed(0))
        XCTAssertEqual(
            q.lookupAnswers("sender@example.org", .refused("550 5.7.1 Relaying denied")),
            [
                "log 000000000001: bounce to <sender@example.org> refused (550 5.7.1 Relaying denied);"
                    + " telling the postmaster",
                "lookup postmaster",
            ])
        XCTAssertEqual(
            q.lookupAnswers("postmaster", .local(user: "root")),
            ["write failed notice about 000000000001 to <postmaster> reporting 0 (double bounce)"])
        XCTAssertEqual(
            q.noticeWritten(as: qid(100)),
            [
                "log 000000000100: queued, from=<>, size=2000, nrcpt=1, notice=failed about 000000000001,"
                    + " to=<postmaster>",
                "remove 000000000001",
                "log 000000000001: removed",
            ])
        XCTAssertEqual(q.machine.messages[qid(100)]?.notice, .doubleBounce)
    }

    func testWhenThePostmasterCannotBeReachedEitherTheNoticeIsDropped() {
        var q = QueueHarness()
        _ = q.committed(message(1, to: [local("alice@example.test", "alice")]))
        _ = q.localAnswers(qid(1), failed(0))
        _ = q.lookupAnswers("sender@example.org", .refused("550 5.1.1 unknown"))
        XCTAssertEqual(
            q.lookupAnswers("postmaster", .unavailable),
            [
                "log 000000000001: warning: the postmaster cannot be reached either: notice dropped",
                "remove 000000000001",
                "log 000000000001: removed",
            ])
    }

    func testAFailedDoubleBounceIsDroppedNeverAnswered() {
        var q = QueueHarness()
        var bounce = message(1, from: "", to: [local("postmaster", "root")])
        bounce.notice = .doubleBounce
        _ = q.committed(bounce)
        XCTAssertEqual(
            q.localAnswers(qid(1), failed(0)),
            [
                "log 000000000001: to=<postmaster>, relay=local, status=bounced (5.1.1 no such user)",
                "log 000000000001: warning: double bounce to <postmaster> undeliverable: dropped, never answered",
                "remove 000000000001",
                "log 000000000001: removed",
            ])
    }

    func testWhileTheLookupCannotAnswerTheMessageWaitsAndTriesAgain() {
        var q = QueueHarness()
        _ = q.committed(message(1, to: [local("alice@example.test", "alice")]))
        _ = q.localAnswers(qid(1), failed(0))
        XCTAssertEqual(
            q.lookupAnswers("sender@example.org", .unavailable),
            ["persist 000000000001 durable attempts=0 next=0 alice@example.test=failed"])
        XCTAssertEqual(q.tick(after: 1), ["lookup sender@example.org"])
        XCTAssertEqual(
            q.lookupAnswers("sender@example.org", .remote(address: "sender@example.org")),
            ["write failed notice about 000000000001 to <sender@example.org> reporting 0"])
    }

    func testANoticeThatCannotBeWrittenIsTriedAgainOneThatCannotBeComposedIsNot() {
        var q = QueueHarness()
        _ = q.committed(message(1, to: [local("alice@example.test", "alice")]))
        _ = q.localAnswers(qid(1), failed(0))
        _ = q.lookupAnswers("sender@example.org", .remote(address: "sender@example.org"))
        let full = SpoolError.system(operation: "create", name: "X.d", errno: 28)
        XCTAssertEqual(
            q.noticeWritten(as: qid(100), .notCreated(full)),
            [
                "log 000000000001: error: cannot create a notice: \(full)",
                "persist 000000000001 durable attempts=0 next=0 alice@example.test=failed",
            ])
        _ = q.tick(after: 1)
        _ = q.lookupAnswers("sender@example.org", .remote(address: "sender@example.org"))
        XCTAssertEqual(
            q.noticeWritten(as: qid(100), .notComposed(.invalidHostname)),
            [
                "log 000000000001: error: cannot compose a notice: \(DSNComposeError.invalidHostname)",
                "remove 000000000001",
                "log 000000000001: removed",
            ])
    }

    // MARK: expiry and the delay warning

    func testPendingRecipientsExpireWithTheirLastReasonAndAreBounced() {
        var q = QueueHarness()
        var old = message(1, to: [local("alice@example.test", "alice"), local("bob@example.test", "bob")])
        old.recipients[0].lastResult = "4.2.0 mailbox busy"
        old.recipients[1].state = .delivered
        old.warned = true
        _ = q.send(.recovered([old], problems: []))
        q.now = t0 + 5 * 86_400 - 1
        XCTAssertEqual(q.tick(), ["dispatch 000000000001 local: 0 alice@example.test (maybe delivered)"])
        _ = q.localAnswers(qid(1), deferred(0))
        q.now = t0 + 5 * 86_400
        XCTAssertEqual(
            q.tick(),
            [
                "log 000000000001: to=<alice@example.test>, status=expired"
                    + " (4.4.7 Message could not be delivered for 5 days: 4.2.0 mailbox busy)",
                "lookup sender@example.org",
            ])
        _ = q.lookupAnswers("sender@example.org", .remote(address: "sender@example.org"))
        XCTAssertEqual(q.noticeWritten(as: qid(100)).suffix(2), ["remove 000000000001", "log 000000000001: removed"])
    }

    func testAHeldMessageDoesNotExpire() {
        var q = QueueHarness()
        var held = message(1, to: [local("alice@example.test", "alice")])
        held.held = true
        _ = q.send(.recovered([held], problems: []))
        XCTAssertEqual(q.tick(after: 6 * 86_400), [])
    }

    func testOneDelayWarningAfterQueueWarn() {
        var q = QueueHarness()
        _ = q.committed(message(1, to: [local("alice@example.test", "alice")]))
        _ = q.localAnswers(qid(1), deferred(0))
        XCTAssertEqual(q.tick(after: 4 * 3_600 - 1), ["dispatch 000000000001 local: 0 alice@example.test"])
        _ = q.localAnswers(qid(1), deferred(0))
        XCTAssertEqual(q.tick(after: 1), ["lookup sender@example.org"], "warned, and not due")
        XCTAssertEqual(
            q.lookupAnswers("sender@example.org", .remote(address: "sender@example.org")),
            ["write delayed notice about 000000000001 to <sender@example.org> reporting 0"])
        XCTAssertEqual(
            q.noticeOrders.first?.timing.willRetryUntil, RFC5322Date.format(epochSeconds: t0 + 5 * 86_400))
        XCTAssertEqual(
            q.noticeWritten(as: qid(100)),
            [
                "log 000000000100: queued, from=<>, size=2000, nrcpt=1, notice=delayed about 000000000001,"
                    + " to=<sender@example.org>",
                "persist 000000000001 durable attempts=2 next=+599 warned alice@example.test=pending",
            ], "the recipient stays reportable: its failure is still owed")
        XCTAssertEqual(
            q.tick(after: 599).sorted(),
            ["dispatch 000000000001 local: 0 alice@example.test", "dispatch 000000000100 relay: 0 sender@example.org"],
            "no second warning; the warning itself goes out")
    }

    func testNoDelayWarningWhenQueueWarnIsZeroOrNotRequested() {
        var q = QueueHarness(settings: QueueSettings(hostname: "mx.example.test", queueWarn: 0))
        var m = message(1, to: [local("alice@example.test", "alice")])
        m.nextAttempt = t0 + 86_400
        _ = q.send(.recovered([m], problems: []))
        XCTAssertEqual(q.tick(after: 5 * 3_600), [])

        var r = QueueHarness()
        var n = message(1, to: [local("alice@example.test", "alice", notify: .failure)])
        n.nextAttempt = t0 + 86_400
        _ = r.send(.recovered([n], problems: []))
        XCTAssertEqual(
            r.tick(after: 5 * 3_600),
            ["persist 000000000001 durable attempts=0 next=+68400 warned alice@example.test=pending"],
            "NOTIFY=FAILURE: nobody to warn, and remembered as warned")
    }
}
