import PosternCore
import PosternIPC
import XCTest

@testable import PosternQueue

/// Transcripts of new messages (a spool file handed over, then committed
/// in groups) and of the spool's free space.
final class QueueMachineUploadTests: XCTestCase {
    private func request(_ id: QueueID) -> CommitRequest {
        CommitRequest(
            queueID: id, sender: "s@example.org", recipients: [local("a@example.test", "a")],
            clientAddress: "192.0.2.1", clientHelo: "client.example.org", authUser: "")
    }

    func testASpoolFileIsHandedOverThenCommittedInGroups() {
        var q = QueueHarness()
        XCTAssertEqual(q.send(.openRequested(q.requester(1))), ["create spool file for #1"])
        XCTAssertEqual(
            q.send(.spoolFileCreated(q.requester(1), .success((qid(1), 31)))), ["hand over 000000000001 fd 31 to #1"])
        _ = q.send(.spoolFileCreated(q.requester(2), .success((qid(2), 32))))
        _ = q.send(.spoolFileCreated(q.requester(3), .success((qid(3), 33))))
        XCTAssertEqual(q.machine.uploads.count, 3)
        XCTAssertEqual(q.send(.commitRequested(request(qid(1)), q.requester(4))), ["commit 000000000001"])
        XCTAssertEqual(q.send(.commitRequested(request(qid(2)), q.requester(5))), [], "waits for the batch under way")
        XCTAssertEqual(q.send(.commitRequested(request(qid(3)), q.requester(6))), [])
        XCTAssertEqual(
            q.committed(message(1, to: [local("a@example.test", "a")])),
            ["commit 000000000002, 000000000003", "dispatch 000000000001 local: 0 a@example.test"])
        XCTAssertEqual(
            q.machine.pendingCommits, [], "the next batch took every waiting commit")
        XCTAssertTrue(q.machine.uploads.isEmpty)
    }

    func testOnlyTheChannelThatGotTheFileMayCommitOrAbortIt() {
        var q = QueueHarness()
        let other = Requester(peer: Handle(FakePeer()), requestID: 9)
        _ = q.send(.spoolFileCreated(q.requester(1), .success((qid(1), 31))))
        XCTAssertEqual(q.send(.commitRequested(request(qid(1)), other)), ["reject #9 451 4.3.0 Unknown message"])
        XCTAssertEqual(
            q.send(.commitRequested(request(qid(7)), q.requester(2))), ["reject #2 451 4.3.0 Unknown message"])
        XCTAssertEqual(q.send(.abortRequested(qid(1), from: other.peer)), [])
        XCTAssertEqual(
            q.send(.abortRequested(qid(1), from: q.handle(.listener))),
            ["discard 000000000001 fd 31", "log 000000000001: aborted"])
        XCTAssertEqual(q.send(.abortRequested(qid(1), from: q.handle(.listener))), [])
    }

    func testAListenerThatGoesAwayTakesOnlyItsOwnUploads() {
        var q = QueueHarness()
        let newer = FakePeer()
        _ = q.send(.spoolFileCreated(q.requester(1), .success((qid(1), 31))))
        _ = q.send(.spoolFileCreated(Requester(peer: Handle(newer), requestID: 1), .success((qid(2), 32))))
        XCTAssertEqual(q.send(.peerClosed(.listener, q.handle(.listener))), ["discard 000000000001 fd 31"])
        XCTAssertEqual(Array(q.machine.uploads.keys), [qid(2)])
    }

    /// Submit commits the recipients the lookup refused as failed when
    /// nobody waits for the answer: their sender is told at once, and a
    /// message with no other recipient is bounced and finished.
    func testRecipientsCommittedAsFailedAreBouncedAtOnce() {
        var q = QueueHarness()
        let gone = Recipient(
            address: "gone@example.test", localUser: "", state: .failed,
            lastResult: "5.1.1 <gone@example.test>: unknown")
        XCTAssertEqual(
            q.committed(message(1, to: [local("a@example.test", "a"), gone])), ["lookup sender@example.org"])
        XCTAssertEqual(
            q.lookupAnswers("sender@example.org", .remote(address: "sender@example.org")),
            ["write failed notice about 000000000001 to <sender@example.org> reporting 1"])
        var fresh = QueueHarness()
        XCTAssertEqual(fresh.committed(message(2, to: [gone])), ["lookup sender@example.org"])
        XCTAssertEqual(
            fresh.lookupAnswers("sender@example.org", .remote(address: "sender@example.org")),
            ["write failed notice about 000000000002 to <sender@example.org> reporting 0"])
    }

    func testTheQueueStampsWhereACommitCameFrom() {
        var claimed = request(qid(1))
        claimed.clientAddress = CommitRequest.localClient
        claimed.recipients[0].state = .failed
        let fromListener = QueueService.stamped(claimed, from: .listener)
        XCTAssertEqual(fromListener.clientAddress, "unknown")
        XCTAssertEqual(fromListener.recipients[0].state, .pending)
        let fromSubmit = QueueService.stamped(request(qid(1)), from: .submit)
        XCTAssertEqual(fromSubmit.clientAddress, CommitRequest.localClient)
    }

    func testRequestsTheQueueDoesNotServeAreRefused() {
        var q = QueueHarness()
        XCTAssertEqual(
            q.send(.unsupportedRequest(q.requester(3))), ["reject #3 451 4.3.0 Unsupported queue request"])
    }

    func testTooManyUploadsAreRefused() {
        var q = QueueHarness(limits: QueueLimits(maxUploads: 1))
        _ = q.send(.spoolFileCreated(q.requester(1), .success((qid(1), 31))))
        XCTAssertEqual(q.send(.openRequested(q.requester(2))), ["reject #2 451 4.3.2 Queue busy, try again later"])
    }

    func testASpoolFileThatCannotBeCreatedIsRefused() {
        var q = QueueHarness()
        let full = SpoolError.system(operation: "create", name: "X.d", errno: ENOSPC)
        XCTAssertEqual(
            q.send(.spoolFileCreated(q.requester(1), .failure(full))),
            ["log error: cannot create a spool file: \(full)", "reject #1 452 4.3.1 Insufficient system storage"])
        let broken = SpoolError.system(operation: "create", name: "X.d", errno: EIO)
        XCTAssertEqual(
            q.send(.spoolFileCreated(q.requester(2), .failure(broken))),
            ["log error: cannot create a spool file: \(broken)", "reject #2 451 4.3.0 Temporary queue failure"])
    }

    // MARK: free space

    func testShortOfSpaceRefusesNewMessagesAndTellsTheListener() {
        var q = QueueHarness(settings: QueueSettings(hostname: "mx.example.test", minFree: 20 << 20))
        XCTAssertEqual(q.send(.peerAttached(.listener, q.handle(.listener))), ["measure spool space, report"])
        XCTAssertEqual(
            q.send(.spoolSpaceMeasured(freeBytes: 100 << 20, forceReport: true)),
            ["report spool space \(100 << 20)"])
        _ = q.send(.spoolSpaceReported(freeBytes: 100 << 20))
        XCTAssertEqual(
            q.send(.spoolSpaceMeasured(freeBytes: (100 << 20) - 1000, forceReport: false)), [],
            "less than 1 MiB of change is not worth a datagram")
        XCTAssertEqual(
            q.send(.spoolSpaceMeasured(freeBytes: 98 << 20, forceReport: false)), ["report spool space \(98 << 20)"])
        _ = q.send(.spoolSpaceReported(freeBytes: 98 << 20))
        XCTAssertEqual(
            q.send(.spoolSpaceMeasured(freeBytes: 10 << 20, forceReport: false)),
            [
                "log error: spool file system short of space: 10240 KiB free, QueueMinFree is 20480 KiB; refusing mail",
                "report spool space \(10 << 20)",
            ])
        _ = q.send(.spoolSpaceReported(freeBytes: 10 << 20))
        XCTAssertEqual(q.send(.openRequested(q.requester(1))), ["reject #1 452 4.3.1 Insufficient system storage"])
        XCTAssertEqual(
            q.send(.spoolSpaceMeasured(freeBytes: 30 << 20, forceReport: false)),
            [
                "log spool file system has 30720 KiB free again; accepting mail",
                "report spool space \(30 << 20)",
            ])
        XCTAssertEqual(q.send(.openRequested(q.requester(2))), ["create spool file for #2"])
    }

    func testWithoutAListenerNothingIsReportedButTheFigureIsKept() {
        var q = QueueHarness(settings: QueueSettings(hostname: "mx.example.test", minFree: 20 << 20))
        XCTAssertEqual(
            q.send(.spoolSpaceMeasured(freeBytes: 10 << 20, forceReport: false)),
            ["log error: spool file system short of space: 10240 KiB free, QueueMinFree is 20480 KiB; refusing mail"])
        XCTAssertFalse(q.machine.spoolHasRoom)
    }
}
