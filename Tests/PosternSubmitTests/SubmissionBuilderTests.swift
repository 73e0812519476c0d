import LocalSubmission
import PosternCore
import XCTest

@testable import PosternSubmit

/// What submit makes of a drop file: the envelope and the message as it is
/// stored (before the Received: line, which names the queue id).
final class SubmissionBuilderTests: XCTestCase {
    private let config = PosternConfig(sourcePath: "t.conf", myHostname: "mail.example.test")
    private let bob = Submitter(uid: 1002, login: "bob", fullName: "Bob Builder", trusted: false)

    private func build(
        _ configure: (inout DropEnvelope) -> Void, message: String, submitter: Submitter? = nil
    ) -> Result<Submission, SMTPReply> {
        guard let name = DropFileName(uid: 1002, random: [UInt8](repeating: 7, count: 16)) else {
            return .failure(SMTPReply(code: 500, enhanced: "", text: "no name"))
        }
        var envelope = DropEnvelope(name: name, time: 0)
        configure(&envelope)
        let builder = SubmissionBuilder(
            config: config, now: 1_765_000_000, utcOffset: 0, random: [UInt8](repeating: 0xAB, count: 16),
            masquerader: nil)
        return builder.build(envelope, message: Array(message.utf8), submitter: submitter ?? bob)
    }

    private func text(_ result: Result<Submission, SMTPReply>) -> String {
        guard case .success(let submission) = result else { return "" }
        return String(decoding: submission.message, as: UTF8.self)
    }

    func testTheSenderIsTheLoginAndTheMissingFieldsAreAdded() throws {
        let result = build({ $0.recipients = ["alice"] }, message: "Subject: hi\r\n\r\nbody\r\n")
        let submission = try result.get()
        XCTAssertEqual(submission.sender, "bob@mail.example.test")
        XCTAssertEqual(submission.recipients, ["alice@mail.example.test"])
        let message = text(result)
        XCTAssertTrue(message.hasPrefix("Subject: hi\r\nFrom: Bob Builder <bob@mail.example.test>\r\nDate: "))
        XCTAssertTrue(message.contains("\r\nMessage-ID: <"))
        XCTAssertTrue(message.hasSuffix("\r\n\r\nbody\r\n"))
        XCTAssertFalse(message.contains("X-Authentication-Warning"))
        XCTAssertEqual(
            String(
                decoding: submission.receivedLine(queueID: "Q1", host: "mail.example.test", date: "D"), as: UTF8.self),
            "Received: by mail.example.test (Postern, from userid 1002)\r\n\tid Q1; D\r\n")
    }

    func testAnUntrustedMinusFIsWarnedAboutAndATrustedOneIsNot() throws {
        let warned = text(
            build(
                {
                    $0.sender = "boss@example.org"; $0.recipients = ["alice"]
                }, message: "S: x\r\n\r\n"))
        XCTAssertTrue(
            warned.hasPrefix(
                "X-Authentication-Warning: mail.example.test: bob set sender to boss@example.org using -f\r\n"))
        var trusted = bob
        trusted.trusted = true
        let quiet = text(
            build(
                {
                    $0.sender = "boss@example.org"; $0.recipients = ["alice"]
                }, message: "S: x\r\n\r\n", submitter: trusted))
        XCTAssertFalse(quiet.contains("X-Authentication-Warning"))
        XCTAssertEqual(
            try build(
                {
                    $0.sender = ""; $0.recipients = ["alice"]
                }, message: "\r\n"
            ).get().sender, "")
    }

    func testMinusTReadsTheHeaderLessTheArgumentsAndDropsBcc() throws {
        let result = build(
            {
                $0.extractRecipients = true
                $0.recipients = ["carol@example.org"]
            }, message: "To: alice, carol@example.org\r\nBcc: dave@example.org\r\nSubject: s\r\n\r\nb\r\n")
        XCTAssertEqual(try result.get().recipients, ["alice@mail.example.test", "dave@example.org"])
        XCTAssertFalse(text(result).contains("Bcc"))
        guard case .failure(let none) = build({ $0.extractRecipients = true }, message: "Subject: s\r\n\r\n") else {
            return XCTFail("no recipients must be refused")
        }
        XCTAssertEqual(none.code, 554)
    }

    func testTooManyHopsIsRefused() {
        let received = String(repeating: "Received: x\r\n", count: 20)
        guard
            case .failure(let reply) = build(
                {
                    $0.recipients = ["alice"]; $0.hopCount = 90
                }, message: received + "\r\n")
        else { return XCTFail("a looping message must be refused") }
        XCTAssertEqual(reply.enhanced, "5.4.6")
    }
}
