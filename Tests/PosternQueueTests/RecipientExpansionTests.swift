import PosternCore
import PosternIPC
import XCTest

@testable import PosternQueue

/// Which recipients a message gains when an alias or a .forward expands one.
final class RecipientExpansionTests: XCTestCase {
    private func envelope(_ recipients: [Recipient]) -> Envelope {
        Envelope(
            queueID: QueueID("A1B2C3D4E5F6G7H8") ?? QueueID.generate(), sender: "s@client.test",
            recipients: recipients, arrival: 0, clientAddress: "127.0.0.1", clientHelo: "client.test", size: 10)
    }

    func testMembersAreAddedWithTheParentsDSNRequests() {
        var e = envelope([Recipient(address: "team@example.test", localUser: "team", notify: [.success, .failure])])
        let (added, refused) = RecipientExpansion.add(
            [
                ExpandedRecipient(address: "alice@mail.example.test", localUser: "alice", target: .user),
                ExpandedRecipient(address: "far@remote.test", localUser: "", target: .name),
            ], parent: 0, refusals: [:], to: &e)
        XCTAssertEqual(added, 2)
        XCTAssertEqual(refused, [])
        XCTAssertEqual(e.recipients.count, 3)
        XCTAssertEqual(e.recipients[1].localUser, "alice")
        XCTAssertEqual(e.recipients[1].target, .user)
        XCTAssertEqual(e.recipients[1].notify, [.failure], "SUCCESS stays with the expanded recipient")
        XCTAssertEqual(e.recipients[1].originalRecipient, "rfc822;team@example.test")
        XCTAssertTrue(e.recipients[2].isRemote)
    }

    func testOnlySuccessRequestedBecomesNeverForMembers() {
        var e = envelope([Recipient(address: "a@example.test", localUser: "a", notify: [.success])])
        _ = RecipientExpansion.add(
            [ExpandedRecipient(address: "b@x", localUser: "b", target: .user)], parent: 0, refusals: [:], to: &e)
        XCTAssertEqual(e.recipients[1].notify, .never)
    }

    func testTheClientsORCPTIsKept() {
        var e = envelope([
            Recipient(address: "a@example.test", localUser: "a", originalRecipient: "rfc822;A@Example.Test")
        ])
        _ = RecipientExpansion.add(
            [ExpandedRecipient(address: "b@x", localUser: "b", target: .user)], parent: 0, refusals: [:], to: &e)
        XCTAssertEqual(e.recipients[1].originalRecipient, "rfc822;A@Example.Test")
    }

    func testDuplicatesAndLoopsAreNotAddedAgain() {
        var e = envelope([
            Recipient(address: "alice@example.test", localUser: "alice"),
            Recipient(address: "far@remote.test", localUser: ""),
        ])
        let (added, _) = RecipientExpansion.add(
            [
                // alice's .forward naming bob, bob's naming alice: alice is there.
                ExpandedRecipient(address: "alice@mail.example.test", localUser: "alice", target: .name),
                ExpandedRecipient(address: "FAR@remote.test", localUser: "", target: .name),
                ExpandedRecipient(address: "bob@mail.example.test", localUser: "bob", target: .user),
                ExpandedRecipient(address: "bob@mail.example.test", localUser: "bob", target: .user),
            ], parent: 0, refusals: [:], to: &e)
        XCTAssertEqual(added, 1)
        XCTAssertEqual(e.recipients.map(\.localUser), ["alice", "", "bob"])
    }

    func testTheUsersOwnMailboxIsADeliveryNotALoop() {
        var e = envelope([Recipient(address: "alice@example.test", localUser: "alice")])
        let (added, _) = RecipientExpansion.add(
            [ExpandedRecipient(address: "alice@example.test", localUser: "alice", target: .mailbox)], parent: 0,
            refusals: [:], to: &e)
        XCTAssertEqual(added, 1)
        XCTAssertEqual(e.recipients[1].target, .mailbox)
    }

    func testPipesAndFilesAreKeyedByUserAndTarget() {
        var e = envelope([Recipient(address: "list@example.test", localUser: "list")])
        let (added, _) = RecipientExpansion.add(
            [
                ExpandedRecipient(address: "list@example.test", localUser: "nobody", target: .pipe("archive")),
                ExpandedRecipient(address: "list@example.test", localUser: "nobody", target: .pipe("archive")),
                ExpandedRecipient(address: "list@example.test", localUser: "alice", target: .pipe("archive")),
                ExpandedRecipient(address: "list@example.test", localUser: "nobody", target: .file("/a/b")),
            ], parent: 0, refusals: [:], to: &e)
        XCTAssertEqual(added, 3)
    }

    func testRefusedMembersFailWithTheLookupsReply() {
        var e = envelope([Recipient(address: "a@example.test", localUser: "a")])
        let (added, refused) = RecipientExpansion.add(
            [ExpandedRecipient(address: "x@blocked.test", localUser: "", target: .name)], parent: 0,
            refusals: ["x@blocked.test": "550 5.7.1 We do not send there"], to: &e)
        XCTAssertEqual(added, 1)
        XCTAssertEqual(refused, ["x@blocked.test"])
        XCTAssertEqual(e.recipients[1].state, .failed)
        XCTAssertEqual(e.recipients[1].lastResult, "550 5.7.1 We do not send there")
    }

    func testTheNumberOfRecipientsIsBounded() {
        var e = envelope([Recipient(address: "big@example.test", localUser: "big")])
        let members = (0..<(RecipientExpansion.maxRecipients + 5)).map {
            ExpandedRecipient(address: "m\($0)@remote.test", localUser: "", target: .name)
        }
        let (added, refused) = RecipientExpansion.add(members, parent: 0, refusals: [:], to: &e)
        XCTAssertEqual(e.recipients.count, RecipientExpansion.maxRecipients)
        XCTAssertEqual(added, RecipientExpansion.maxRecipients - 1)
        XCTAssertEqual(refused.count, 6)
    }

    func testAnInvalidMemberIsRefusedNotAdded() {
        var e = envelope([Recipient(address: "a@example.test", localUser: "a")])
        let (added, refused) = RecipientExpansion.add(
            [ExpandedRecipient(address: "bad\r\n@x", localUser: "", target: .name)], parent: 0, refusals: [:],
            to: &e)
        XCTAssertEqual(added, 0)
        XCTAssertEqual(refused.count, 1)
    }

    func testTargetsRoundTripThroughTheControlFile() throws {
        var e = envelope([Recipient(address: "a@example.test", localUser: "a", notify: [.failure])])
        _ = RecipientExpansion.add(
            [
                ExpandedRecipient(address: "a@example.test", localUser: "nobody", target: .pipe("vacation -t x")),
                ExpandedRecipient(address: "a@example.test", localUser: "nobody", target: .file("/var/x y/z")),
                ExpandedRecipient(address: "b@example.test", localUser: "b", target: .mailbox),
                ExpandedRecipient(address: "c@example.test", localUser: "c", target: .user),
            ], parent: 0, refusals: [:], to: &e)
        let decoded = try ControlFile.decode(try ControlFile.encode(e))
        XCTAssertEqual(decoded.recipients, e.recipients)
    }
}
