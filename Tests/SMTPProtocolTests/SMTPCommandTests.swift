import XCTest

@testable import SMTPProtocol

final class SMTPCommandTests: XCTestCase {
    private func parse(_ text: String) throws -> SMTPCommand {
        try SMTPCommand.parse(Array(text.utf8))
    }

    private func error(_ text: String) -> SMTPCommandError? {
        do {
            _ = try SMTPCommand.parse(Array(text.utf8))
            return nil
        } catch {
            return error
        }
    }

    private func mailbox(_ local: String, _ domain: String) -> MailboxAddress {
        MailboxAddress(localPart: local, domain: domain)
    }

    func testSimpleVerbs() throws {
        XCTAssertEqual(try parse("DATA"), .data)
        XCTAssertEqual(try parse("rset"), .rset)
        XCTAssertEqual(try parse("Quit"), .quit)
        XCTAssertEqual(try parse("NOOP some text"), .noop)
        XCTAssertEqual(try parse("HELP MAIL"), .help)
        XCTAssertEqual(try parse("EXPN list"), .expn)
        XCTAssertEqual(try parse("VRFY user"), .vrfy)
        XCTAssertEqual(try parse("QUIT  "), .quit)
        XCTAssertEqual(error("DATA now"), .syntax(usage: "DATA"))
        XCTAssertEqual(error("VRFY"), .syntax(usage: "VRFY address"))
        XCTAssertEqual(try parse("BDAT 10 LAST"), .bdat(size: 10, last: true))
        XCTAssertEqual(try parse("ETRN example.test"), .etrn)
        XCTAssertEqual(try parse("VERB"), .verb)
        XCTAssertEqual(error("ETRN"), .syntax(usage: "ETRN domain"))
        XCTAssertEqual(error("DAT"), .unknownCommand)
    }

    func testHeloNames() throws {
        XCTAssertEqual(try parse("EHLO client.example.org"), .ehlo("client.example.org"))
        XCTAssertEqual(try parse("HELO [192.0.2.1]"), .helo("[192.0.2.1]"))
        XCTAssertEqual(try parse("EHLO [IPv6:2001:db8::1]"), .ehlo("[IPv6:2001:db8::1]"))
        XCTAssertEqual(error("EHLO"), .syntax(usage: "EHLO hostname"))
        XCTAssertEqual(error("EHLO a b"), .syntax(usage: "EHLO hostname"))
        XCTAssertEqual(error("EHLO [999.1.1.1]"), .syntax(usage: "EHLO hostname"))
    }

    func testMail() throws {
        XCTAssertEqual(
            try parse("MAIL FROM:<a@example.org>"), .mail(.mailbox(mailbox("a", "example.org")), MailParameters()))
        XCTAssertEqual(try parse("MAIL FROM:<>"), .mail(.null, MailParameters()))
        XCTAssertEqual(
            try parse("mail from: <a@example.org>"), .mail(.mailbox(mailbox("a", "example.org")), MailParameters()))
        XCTAssertEqual(
            try parse("MAIL FROM:<a@example.org> size=42  BODY=7bit"),
            .mail(.mailbox(mailbox("a", "example.org")), MailParameters(size: 42, body: .sevenBit)))
        XCTAssertEqual(error("MAIL"), .syntax(usage: "MAIL FROM:<address>"))
        XCTAssertEqual(error("MAIL FROM:"), .syntax(usage: "MAIL FROM:<address>"))
        XCTAssertEqual(error("MAIL FROM <a@example.org>"), .syntax(usage: "MAIL FROM:<address>"))
        XCTAssertEqual(error("MAIL FROM:<a@example.org>SIZE=1"), .syntax(usage: "MAIL FROM:<address>"))
        XCTAssertEqual(error("MAIL FROM:<a@example.org> =1"), .syntax(usage: "MAIL FROM:<address>"))
        XCTAssertEqual(error("MAIL FROM:<a@example.org> SIZE="), .syntax(usage: "MAIL FROM:<address>"))
        XCTAssertEqual(error("MAIL FROM:<a@example.org> SIZE=1 SIZE=2"), .invalidParameter(keyword: "SIZE"))
        XCTAssertEqual(error("MAIL FROM:<a@example.org> SIZE"), .invalidParameter(keyword: "SIZE"))
        XCTAssertEqual(error("MAIL FROM:<a@example.org> BODY=BINARYMIME"), .invalidParameter(keyword: "BODY"))
        XCTAssertEqual(error("MAIL FROM:<a@example.org> auth=+2"), .invalidParameter(keyword: "AUTH"))
        XCTAssertEqual(error("MAIL FROM:<a@example.org> XAUTH=<>"), .unsupportedParameter(keyword: "XAUTH"))
        XCTAssertEqual(error("MAIL FROM:<a b@example.org>"), .badSender(.invalidLocalPart))
    }

    func testRcpt() throws {
        XCTAssertEqual(
            try parse("RCPT TO:<a@example.test>"), .rcpt(mailbox("a", "example.test"), RecipientParameters()))
        XCTAssertEqual(try parse("RCPT TO:<postmaster>"), .rcpt(mailbox("postmaster", ""), RecipientParameters()))
        XCTAssertEqual(error("RCPT TO:<>"), .badRecipient(.nullPathNotAllowed))
        XCTAssertEqual(error("RCPT FROM:<a@example.test>"), .syntax(usage: "RCPT TO:<address>"))
        XCTAssertEqual(
            try parse("RCPT TO:<a@example.test> ORCPT=rfc822;a@example.test"),
            .rcpt(mailbox("a", "example.test"), RecipientParameters(orcpt: "rfc822;a@example.test")))
        XCTAssertEqual(
            error("RCPT TO:<a@example.test> MT-PRIORITY=3"), .unsupportedParameter(keyword: "MT-PRIORITY"))
    }

    func testErrorReplies() {
        XCTAssertEqual(SMTPCommandError.unknownCommand.reply.description, "500 5.5.2 Error: command not recognized\r\n")
        XCTAssertEqual(
            SMTPCommandError.badSender(.nonASCII).reply.description, "501 5.1.7 Bad sender address syntax\r\n")
        XCTAssertEqual(
            SMTPCommandError.badRecipient(.invalidDomain).reply.description,
            "501 5.1.3 Bad recipient address syntax\r\n")
        XCTAssertEqual(
            SMTPCommandError.unsupportedParameter(keyword: "X").reply.description, "555 5.5.4 Unsupported option: X\r\n"
        )
    }
}
