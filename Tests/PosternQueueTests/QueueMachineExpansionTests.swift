import PosternCore
import PosternIPC
import XCTest

@testable import PosternQueue

/// Transcripts of expansion: an alias's or a `.forward`'s members join the
/// message; remote ones are routed by the lookup before they are added.
final class QueueMachineExpansionTests: XCTestCase {
    private func expanded(_ index: UInt32, _ members: [ExpandedRecipient], _ text: String = "alias team")
        -> RecipientOutcome
    {
        RecipientOutcome(index: index, status: .expanded, text: text, expansion: members)
    }

    func testLocalMembersAreAddedAndDeliveredInASecond() {
        var q = QueueHarness()
        _ = q.committed(message(1, to: [local("team@example.test", "team")]))
        let members = [
            ExpandedRecipient(address: "alice", localUser: "alice", target: .user),
            ExpandedRecipient(address: "carol", localUser: "carol", target: .user),
            ExpandedRecipient(address: "/var/log/team", localUser: "nobody", target: .file("/var/log/team")),
        ]
        XCTAssertEqual(
            q.localAnswers(qid(1), expanded(0, members)),
            [
                "log 000000000001: to=<team@example.test>, relay=local, status=expanded (alias team; 3 new)",
                "persist 000000000001 lazy attempts=0 next=+1 team@example.test=delivered alice=pending"
                    + " carol=pending /var/log/team=pending",
            ])
        XCTAssertEqual(
            q.machine.messages[qid(1)]?.recipients[0].lastResult,
            "\(DSNReport.expandedResultPrefix) (alias team)")
        XCTAssertEqual(q.tick(after: 1), ["dispatch 000000000001 local: 1 alice, 2 carol, 3 /var/log/team"])
        XCTAssertEqual(q.dispatched[qid(1)]?.parts.first?.job.recipients.last?.target, .file("/var/log/team"))
    }

    func testAMemberAlreadyInTheMessageIsNotAddedAgain() {
        var q = QueueHarness()
        _ = q.committed(message(1, to: [local("a@example.test", "a"), local("b@example.test", "b")]))
        XCTAssertEqual(
            q.localAnswers(
                qid(1), expanded(0, [ExpandedRecipient(address: "b", localUser: "b", target: .user)], "forward"),
                deferred(1)),
            [
                "log 000000000001: to=<a@example.test>, relay=local, status=expanded (forward; 0 new)",
                "log 000000000001: to=<b@example.test>, relay=local, status=deferred (4.2.0 mailbox busy)",
                "persist 000000000001 lazy attempts=1 next=+300 a@example.test=delivered b@example.test=pending",
            ], "nothing new: on the retry schedule")
    }

    func testRemoteMembersAreRoutedByTheLookupFirst() {
        var q = QueueHarness()
        _ = q.committed(message(1, to: [local("team@example.test", "team")]))
        let members = [
            ExpandedRecipient(address: "far@remote.test", localUser: "", target: .name),
            ExpandedRecipient(address: "bob@example.test", localUser: "", target: .name),
            ExpandedRecipient(address: "alice", localUser: "alice", target: .user),
        ]
        XCTAssertEqual(
            q.localAnswers(qid(1), expanded(0, members)), ["lookup bob@example.test", "lookup far@remote.test"])
        XCTAssertEqual(q.machine.inFlight, [:], "no longer in flight while routed")
        XCTAssertEqual(q.lookupAnswers("far@remote.test", .remote(address: "far@remote.test")), [])
        XCTAssertEqual(
            q.lookupAnswers("bob@example.test", .local(user: "bob")),
            [
                "log 000000000001: to=<team@example.test>, relay=local, status=expanded (alias team; 3 new)",
                "persist 000000000001 lazy attempts=0 next=+1 team@example.test=delivered far@remote.test=pending"
                    + " bob@example.test=pending alice=pending",
            ])
        XCTAssertEqual(q.machine.messages[qid(1)]?.recipients.map(\.localUser), ["team", "", "bob", "alice"])
        XCTAssertEqual(
            q.tick(after: 1),
            ["dispatch 000000000001 local: 2 bob@example.test, 3 alice; relay: 1 far@remote.test"])
    }

    func testAMemberTheLookupCannotRouteNowDefersItsParent() {
        var q = QueueHarness()
        _ = q.committed(message(1, to: [local("team@example.test", "team")]))
        _ = q.localAnswers(
            qid(1), expanded(0, [ExpandedRecipient(address: "far@remote.test", localUser: "", target: .name)]))
        XCTAssertEqual(
            q.lookupAnswers("far@remote.test", .unavailable),
            [
                "log 000000000001: to=<team@example.test>, relay=local, status=deferred"
                    + " (4.3.0 cannot route far@remote.test now (alias team))",
                "persist 000000000001 lazy attempts=1 next=+300 team@example.test=pending",
            ])
    }

    func testWithoutALookupEveryRemoteMemberIsUnavailable() {
        var q = QueueHarness(attach: [.local])
        _ = q.committed(message(1, to: [local("team@example.test", "team")]))
        XCTAssertEqual(
            q.localAnswers(
                qid(1), expanded(0, [ExpandedRecipient(address: "far@remote.test", localUser: "", target: .name)])
            ).first,
            "log 000000000001: to=<team@example.test>, relay=local, status=deferred"
                + " (4.3.0 cannot route far@remote.test now (alias team))")
    }

    func testARefusedMemberFailsWithTheLookupsReply() {
        var q = QueueHarness()
        _ = q.committed(message(1, to: [local("team@example.test", "team", notify: .never)]))
        _ = q.localAnswers(
            qid(1), expanded(0, [ExpandedRecipient(address: "x@nowhere.test", localUser: "", target: .name)]))
        XCTAssertEqual(
            q.lookupAnswers("x@nowhere.test", .refused("550 5.7.1 Relaying denied")),
            [
                "log 000000000001: to=<team@example.test>, relay=local, status=expanded"
                    + " (alias team; 1 new, refused: x@nowhere.test)",
                "remove 000000000001",
                "log 000000000001: removed",
            ], "every recipient is final; NOTIFY=NEVER carries over, so no bounce")
    }
}
