import XCTest

@testable import LocalSubmission

/// The pieces as the command and the submit process will chain them.
final class SubmissionFlowTests: XCTestCase {
    func testPHPMailFlow() throws {
        let invocation = try SendmailArguments.parse(["-t", "-i"])
        var reader = SubmissionReader(ignoreDots: invocation.ignoreDots, maxMessageSize: 1 << 20)
        let input = "To: alice@example.test, root\nBcc: secret@example.test\nSubject: hi\n\n.\nbye\n"
        var message = try reader.consume(Array(input.utf8))
        message += try reader.finish()
        guard let bodyOffset = reader.bodyOffset else { return XCTFail("body offset") }

        let header = HeaderSection(parsing: reader.headerSection)
        let recipients = try RecipientExtraction.recipients(in: header).map {
            AddressQualification.qualify($0, domain: "host.example")
        }
        XCTAssertEqual(recipients, ["alice@example.test", "root@host.example", "secret@example.test"])

        var added: [[UInt8]] = []
        for field in header.missingOriginatorFields {
            switch field {
            case .from: added.append(OriginatorFields.from(fullName: "Www Data", address: "www-data@host.example"))
            case .date: added.append(OriginatorFields.date(secondsSince1970: 0, utcOffsetSeconds: 0))
            case .messageID:
                added.append(OriginatorFields.messageID(random: [1], secondsSince1970: 0, host: "host.example"))
            }
        }
        let final = header.removingBlindCopies.assembled(adding: added) + message[bodyOffset...]
        XCTAssertEqual(
            String(decoding: final, as: UTF8.self),
            "To: alice@example.test, root\r\nSubject: hi\r\n"
                + "From: Www Data <www-data@host.example>\r\nDate: Thu, 1 Jan 1970 00:00:00 +0000\r\n"
                + "Message-ID: <19700101000000.01@host.example>\r\n\r\n.\r\nbye\r\n")
    }
}
