import PosternCore
import XCTest

@testable import PosternQueue

final class DSNPolicyTests: XCTestCase {
    private let policy = DSNPolicy()

    private func recipient(_ state: Recipient.State, notify: DSNNotify, _ name: String = "bob") -> Recipient {
        Recipient(
            address: "\(name)@example.test", localUser: name, state: state, lastResult: "5.1.1 user unknown",
            notify: notify)
    }

    /// RFC 3461 §4.1 and the absent-NOTIFY default, for every event.
    func testNotifyMatrix() {
        let cases: [(DSNNotify, failed: Bool, delayed: Bool, delivered: Bool)] = [
            ([], true, true, false),
            (.never, false, false, false),
            (.success, false, false, true),
            (.failure, true, false, false),
            (.delay, false, true, false),
            ([.success, .failure], true, false, true),
            ([.failure, .delay], true, true, false),
            ([.success, .failure, .delay], true, true, true),
        ]
        for (notify, failed, delayed, delivered) in cases {
            for (event, state, expected) in [
                (DSNEvent.failed, Recipient.State.failed, failed), (.delayed, .pending, delayed),
                (.delivered, .delivered, delivered),
            ] {
                let envelope = DSNFixture.envelope([recipient(state, notify: notify)])
                let decision = policy.decide(envelope, event: event)
                if expected {
                    XCTAssertEqual(
                        decision,
                        .notifySender(
                            DSNNotice(
                                event: event, recipient: "alice@example.test", reportedRecipients: [0],
                                isDoubleBounce: false)), "\(notify.word) \(event)")
                } else {
                    XCTAssertEqual(decision, .silent(.notRequested), "\(notify.word) \(event)")
                }
            }
        }
        // FAILURE alone: a failure is reported.
        let failure = DSNFixture.envelope([recipient(.failed, notify: .failure)])
        XCTAssertEqual(DSNPolicy.wantsNotice(.failure, for: .failed), true)
        if case .notifySender(let notice) = policy.decide(failure, event: .failed) {
            XCTAssertEqual(notice.reportedRecipients, [0])
        } else {
            XCTFail("NOTIFY=FAILURE must be reported")
        }
    }

    func testNoCandidatesIsSilent() {
        let envelope = DSNFixture.envelope([recipient(.delivered, notify: [])])
        XCTAssertEqual(policy.decide(envelope, event: .failed), .silent(.nothingToReport))
        XCTAssertEqual(policy.decide(envelope, event: .delayed), .silent(.nothingToReport))
        // Delivered without NOTIFY=SUCCESS.
        XCTAssertEqual(policy.decide(envelope, event: .delivered), .silent(.notRequested))
    }

    func testNoReceiptsSuppressesSuccessNotices() {
        let envelope = DSNFixture.envelope([recipient(.delivered, notify: [.success])])
        let strict = DSNPolicy(privacy: DSNPrivacy(noReceipts: true))
        XCTAssertEqual(strict.decide(envelope, event: .delivered), .silent(.receiptsDisabled))
        let failed = DSNFixture.envelope([recipient(.failed, notify: [.success, .failure])])
        XCTAssertNotEqual(strict.decide(failed, event: .failed), .silent(.receiptsDisabled))
    }

    /// Only the recipients in the event's state and wanting it are reported,
    /// in envelope order.
    func testMixedStatesSelectPerEvent() {
        let envelope = DSNFixture.envelope([
            recipient(.failed, notify: [], "a"),
            recipient(.delivered, notify: .success, "b"),
            recipient(.pending, notify: [], "c"),
            recipient(.failed, notify: .never, "d"),
            recipient(.failed, notify: [.failure, .success], "e"),
            recipient(.pending, notify: .failure, "f"),
            recipient(.delivered, notify: [], "g"),
        ])
        func reported(_ event: DSNEvent) -> [Int] {
            if case .notifySender(let notice) = policy.decide(envelope, event: event) {
                XCTAssertEqual(notice.event, event)
                return notice.reportedRecipients
            }
            return []
        }
        XCTAssertEqual(reported(.failed), [0, 4])
        XCTAssertEqual(reported(.delayed), [2])
        XCTAssertEqual(reported(.delivered), [1])
    }

    /// A failed null-sender message goes once to the postmaster, whatever
    /// NOTIFY said; its delays and successes go nowhere.
    func testNullSenderFailureIsADoubleBounce() {
        let envelope = DSNFixture.envelope(
            sender: "",
            [
                recipient(.failed, notify: .never, "a"), recipient(.delivered, notify: .success, "b"),
                recipient(.pending, notify: .delay, "c"), recipient(.failed, notify: [], "d"),
            ])
        XCTAssertEqual(
            policy.decide(envelope, event: .failed),
            .notifyPostmaster(
                DSNNotice(event: .failed, recipient: "postmaster", reportedRecipients: [0, 3], isDoubleBounce: true)))
        XCTAssertEqual(policy.decide(envelope, event: .delayed), .silent(.nullSender))
        XCTAssertEqual(policy.decide(envelope, event: .delivered), .silent(.nullSender))

        let custom = DSNPolicy(doubleBounceAddress: "mailer-admin@example.test")
        if case .notifyPostmaster(let notice) = custom.decide(envelope, event: .failed) {
            XCTAssertEqual(notice.recipient, "mailer-admin@example.test")
        } else {
            XCTFail("expected a double bounce")
        }
    }

    func testFailedDoubleBounceIsDropped() {
        let envelope = DSNFixture.envelope(sender: "", [recipient(.failed, notify: [], "someone")])
        XCTAssertEqual(
            policy.decide(envelope, event: .failed, isDoubleBounce: true), .dropDoubleBounce(failedRecipients: [0]))
        XCTAssertEqual(policy.decide(envelope, event: .delayed, isDoubleBounce: true), .silent(.nothingToReport))
    }

    /// Without the flag, a null-sender message to the postmaster only is
    /// still never reported: the loop cannot start even if the flag is lost.
    func testNullSenderToPostmasterIsDroppedWithoutTheFlag() {
        for address in ["postmaster", "Postmaster", "POSTMASTER@example.test", "postmaster@elsewhere.test"] {
            let r = Recipient(address: address, localUser: "root", state: .failed, lastResult: "5.2.2 full")
            let envelope = DSNFixture.envelope(sender: "", [r])
            XCTAssertEqual(policy.decide(envelope, event: .failed), .dropDoubleBounce(failedRecipients: [0]), address)
        }
        let custom = DSNPolicy(doubleBounceAddress: "bounces@example.test")
        let r = Recipient(address: "Bounces@example.test", localUser: "root", state: .failed, lastResult: "x")
        XCTAssertEqual(
            custom.decide(DSNFixture.envelope(sender: "", [r]), event: .failed),
            .dropDoubleBounce(failedRecipients: [0]))
    }

    /// The whole loop: a bounce fails, the postmaster copy is composed and
    /// then fails too; that is the end of it.
    func testBounceLoopEndsAtTheDoubleBounce() throws {
        let bounce = DSNFixture.envelope(sender: "", [recipient(.failed, notify: [], "gone")])
        guard case .notifyPostmaster(let notice) = policy.decide(bounce, event: .failed) else {
            return XCTFail("expected a double bounce")
        }
        let id = try XCTUnwrap(DSNFixture.noticeID)
        let message = try DSNComposer(hostname: DSNFixture.hostname).compose(
            notice, about: bounce, timing: DSNFixture.timing, queueID: id,
            original: DSNOriginalMessage(bytes: DSNFixture.original))
        XCTAssertEqual(message.sender, "")
        XCTAssertEqual(message.recipients, ["postmaster"])
        XCTAssertTrue(message.isDoubleBounce)

        // Queue the double bounce; it fails.
        let failedAgain = Envelope(
            queueID: id, sender: message.sender,
            recipients: message.recipients.map {
                Recipient(address: $0, localUser: "", state: .failed, lastResult: "5.1.1 no such user")
            }, arrival: DSNFixture.arrival, clientAddress: "", clientHelo: "", size: Int64(message.bytes.count))
        XCTAssertEqual(
            policy.decide(failedAgain, event: .failed, isDoubleBounce: message.isDoubleBounce),
            .dropDoubleBounce(failedRecipients: [0]))
        XCTAssertEqual(
            policy.decide(failedAgain, event: .failed, isDoubleBounce: false), .dropDoubleBounce(failedRecipients: [0]))
    }
}
