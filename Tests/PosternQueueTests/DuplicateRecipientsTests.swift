import PosternCore
import XCTest

@testable import PosternQueue

/// One copy per delivery target: which RCPTs are one delivery, how a
/// duplicate takes its primary's outcome, and how the control file keeps it.
final class DuplicateRecipientsTests: XCTestCase {
    private func envelope(_ recipients: [Recipient]) -> Envelope {
        Envelope(
            queueID: QueueID("0123456789AB") ?? QueueID.generate(), sender: "s@client.test",
            recipients: recipients, arrival: 1_700_000_000, clientAddress: "127.0.0.1", clientHelo: "client.test",
            size: 10)
    }

    func testRecipientsReachingTheSameTargetAreMarkedOnce() {
        var e = envelope([
            Recipient(address: "bob@example.test", localUser: "bob"),
            Recipient(address: "BOB@EXAMPLE.TEST", localUser: "bob", notify: [.success]),
            Recipient(address: "bob@mail.example.test", localUser: "bob"),
            Recipient(address: "sales@virt.test", localUser: "bob", originalRecipient: "rfc822;sales@virt.test"),
            Recipient(address: "alice@example.test", localUser: "alice"),
            Recipient(address: "far@remote.test", localUser: ""),
            Recipient(address: "Far@Remote.Test", localUser: ""),
        ])
        let marked = DuplicateRecipients.mark(&e)
        XCTAssertEqual(marked.map(\.duplicate), [1, 2, 3, 6])
        XCTAssertEqual(e.recipients.map(\.duplicateOf), [nil, 0, 0, 0, nil, nil, 5])
        XCTAssertEqual(
            e.recipients.filter(DuplicateRecipients.isDeliverable).map(\.address),
            [
                "bob@example.test", "alice@example.test", "far@remote.test",
            ])
        // Marking again changes nothing.
        XCTAssertTrue(DuplicateRecipients.mark(&e).isEmpty)
    }

    func testADuplicateTakesItsPrimarysOutcomeAndKeepsItsOwnDSNRequest() {
        var e = envelope([
            Recipient(address: "bob@example.test", localUser: "bob"),
            Recipient(address: "BOB@example.test", localUser: "bob", notify: [.success]),
            Recipient(address: "alice@example.test", localUser: "alice"),
            Recipient(address: "ALICE@example.test", localUser: "alice", notify: [.failure]),
        ])
        DuplicateRecipients.mark(&e)
        XCTAssertEqual(DuplicateRecipients.settle(&e), [], "nothing is final yet")
        e.recipients[0].state = .delivered
        e.recipients[0].lastResult = "delivered to mailbox, 10 bytes"
        e.recipients[2].state = .failed
        e.recipients[2].lastResult = "5.2.2 mailbox full"
        XCTAssertEqual(DuplicateRecipients.settle(&e), [1, 3])
        XCTAssertEqual(e.recipients[1].state, .delivered)
        XCTAssertEqual(e.recipients[1].lastResult, "delivered to mailbox, 10 bytes")
        XCTAssertEqual(e.recipients[1].notify, [.success])
        XCTAssertEqual(e.recipients[3].state, .failed)
        XCTAssertEqual(e.recipients[3].lastResult, "5.2.2 mailbox full")
    }

    func testTheControlFileKeepsDuplicates() throws {
        var e = envelope([
            Recipient(address: "bob@example.test", localUser: "bob"),
            Recipient(address: "BOB@example.test", localUser: "bob", notify: [.success]),
            Recipient(address: "pipe", localUser: "bob", target: .pipe("vacation")),
            Recipient(address: "pipe2", localUser: "bob", target: .pipe("vacation")),
        ])
        DuplicateRecipients.mark(&e)
        let text = String(decoding: try ControlFile.encode(e), as: UTF8.self)
        XCTAssertTrue(
            text.contains("rcpt pending 3:bob 16:BOB@example.test 0:\ndsn success 0:\nduplicate-of 0\n"), text)
        XCTAssertTrue(text.contains("target 9:|vacation\nduplicate-of 2\n"), text)
        XCTAssertEqual(try ControlFile.decode(Array(text.utf8)), e)
    }

    func testTheControlFileRefusesDuplicatesThatPointNowhere() throws {
        var e = envelope([
            Recipient(address: "bob@example.test", localUser: "bob"),
            Recipient(address: "BOB@example.test", localUser: "bob"),
            Recipient(address: "Bob@example.test", localUser: "bob"),
        ])
        for bad: [Int?] in [[0, nil, nil], [nil, 2, nil], [nil, 0, 1], [nil, 5, nil]] {
            for (i, p) in bad.enumerated() { e.recipients[i].duplicateOf = p }
            XCTAssertThrowsError(try ControlFile.encode(e), "\(bad)")
        }
        let good = Array(
            "postern-control 1\nid 0123456789AB\nsender 0:\narrival 1\nclient 0:\nhelo 0:\nauth 0:\nsize 1\nattempts 0\nnext-attempt 0\nrcpt pending 1:b 3:b@x 0:\n"
                .utf8)
        for tail in [
            "duplicate-of 0\n", "duplicate-of 1\n", "rcpt pending 1:b 3:b@x 0:\nduplicate-of 1\n",
            "rcpt pending 1:b 3:b@x 0:\nduplicate-of 01\n", "rcpt pending 1:b 3:b@x 0:\nduplicate-of x\n",
        ] {
            XCTAssertThrowsError(try ControlFile.decode(good + Array((tail + "end\n").utf8)), tail)
        }
        XCTAssertNoThrow(
            try ControlFile.decode(good + Array("rcpt pending 1:b 3:B@x 0:\nduplicate-of 0\nend\n".utf8)))
    }
}
