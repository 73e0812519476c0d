import SMTPProtocol
import XCTest

/// A recipient the lookup routes elsewhere (`RecipientVerdict.relay`).
final class RelayRecipientTests: XCTestCase {
    private func commitWith(_ verdicts: [(String, RecipientVerdict)], orcpt: String? = nil) -> AcceptedMessage? {
        var session = Session()
        _ = session.start()
        _ = session.send("EHLO client.example.org\r\n")
        _ = session.send("MAIL FROM:<bob@example.org>\r\n")
        for (address, verdict) in verdicts {
            let parameter = orcpt.map { " ORCPT=\($0)" } ?? ""
            XCTAssertEqual(session.send("RCPT TO:<\(address)>\(parameter)\r\n"), [.check(address)])
            XCTAssertEqual(session.recipient(verdict), [.reply("250 2.1.5 Ok\r\n")])
        }
        _ = session.send("DATA\r\n")
        _ = session.opened("QID")
        return commits(session.send("Subject: x\r\n\r\nbody\r\n.\r\n")).first
    }

    /// The percent hack from a client that may relay: the message goes to
    /// the address the route names, and the DSN names what the client gave.
    func testRoutedAddressReplacesTheClientsAndIsKeptAsOriginalRecipient() {
        let message = commitWith([("user%remote.test@example.test", .relay(address: "user@remote.test"))])
        XCTAssertEqual(message?.recipients.first?.address, "user@remote.test")
        XCTAssertEqual(message?.recipients.first?.localUser, "")
        XCTAssertEqual(message?.recipients.first?.orcpt, "rfc822;user%remote.test@example.test")
    }

    func testPlainRemoteAddressIsUnchangedAndGetsNoOriginalRecipient() {
        let message = commitWith([("user@remote.test", .relay(address: "user@remote.test"))])
        XCTAssertEqual(message?.recipients.first?.address, "user@remote.test")
        XCTAssertNil(message?.recipients.first?.orcpt)
    }

    /// An ORCPT the client sent is the original recipient already.
    func testClientsOriginalRecipientWins() {
        let message = commitWith(
            [("user%remote.test@example.test", .relay(address: "user@remote.test"))],
            orcpt: "rfc822;first@elsewhere.test")
        XCTAssertEqual(message?.recipients.first?.address, "user@remote.test")
        XCTAssertEqual(message?.recipients.first?.orcpt, "rfc822;first@elsewhere.test")
    }
}
