import XCTest

@testable import SMTPProtocol

/// DATA dot-stuffing and BDAT framing, fed in blocks split everywhere.
final class ContentEncodingTests: XCTestCase {
    private func stuffed(_ blocks: [String]) -> String {
        var stuffer = DotStuffer()
        var out: [UInt8] = []
        for block in blocks { out += stuffer.stuff(Array(block.utf8)) }
        out += stuffer.finish()
        return String(decoding: out, as: UTF8.self)
    }

    func testDotStuffing() {
        XCTAssertEqual(
            stuffed(["Subject: x\r\n\r\n.hidden\r\n..two\r\nmid.dle\r\n.\r\nend\r\n"]),
            "Subject: x\r\n\r\n..hidden\r\n...two\r\nmid.dle\r\n..\r\nend\r\n.\r\n")
        XCTAssertEqual(stuffed([".first line\r\n"]), "..first line\r\n.\r\n")
    }

    func testMissingFinalLineEndingIsAdded() {
        XCTAssertEqual(stuffed(["body"]), "body\r\n.\r\n")
        XCTAssertEqual(stuffed(["body\r\n."]), "body\r\n..\r\n.\r\n")
        XCTAssertEqual(stuffed([]), ".\r\n")
        XCTAssertEqual(stuffed(["", ""]), ".\r\n")
    }

    func testBareLineEndingsBecomeCRLF() {
        // "\n.\n" would end the data at some servers: never sent as it is.
        XCTAssertEqual(stuffed(["a\n.\nb\rc\r\r\n"]), "a\r\n..\r\nb\r\nc\r\n\r\n.\r\n")
        XCTAssertEqual(stuffed(["a\r"]), "a\r\n.\r\n")
    }

    /// The encoding does not depend on where blocks end.
    func testEverySplitPoint() {
        let content = "From: a\r\n.dot\r\n\n.\nx\r.y\r\n..\r\nlast"
        let whole = stuffed([content])
        XCTAssertEqual(whole, "From: a\r\n..dot\r\n\r\n..\r\nx\r\n..y\r\n...\r\nlast\r\n.\r\n")
        let bytes = Array(content.utf8)
        for cut in 0...bytes.count {
            for second in cut...bytes.count {
                var stuffer = DotStuffer()
                var out = stuffer.stuff(bytes[..<cut])
                out += stuffer.stuff(bytes[cut..<second])
                out += stuffer.stuff(bytes[second...])
                out += stuffer.finish()
                XCTAssertEqual(String(decoding: out, as: UTF8.self), whole, "cuts \(cut), \(second)")
            }
        }
    }

    private func framed(_ blocks: [String]) -> String {
        var framer = BDATFramer()
        var out: [UInt8] = []
        for block in blocks { out += framer.add(Array(block.utf8)) ?? [] }
        out += framer.finish()
        return String(decoding: out, as: UTF8.self)
    }

    func testBDATFraming() {
        XCTAssertEqual(framed(["Subject: x\r\n\r\n.body\r\n"]), "BDAT 21 LAST\r\nSubject: x\r\n\r\n.body\r\n")
        XCTAssertEqual(
            framed(["abc\r\n", "", "de\r\n", "f\r\n"]), "BDAT 5\r\nabc\r\nBDAT 4\r\nde\r\nBDAT 3 LAST\r\nf\r\n")
        XCTAssertEqual(framed([]), "BDAT 0 LAST\r\n")
        XCTAssertEqual(framed(["", ""]), "BDAT 0 LAST\r\n")
    }

    func testBDATNormalisesLikeDATA() {
        XCTAssertEqual(framed(["no end"]), "BDAT 8 LAST\r\nno end\r\n")
        XCTAssertEqual(framed(["a\n", ".\n"]), "BDAT 3\r\na\r\nBDAT 3 LAST\r\n.\r\n")
        // A CR at the end of a block waits for the next.
        XCTAssertEqual(framed(["a\r", "\nb\r"]), "BDAT 1\r\naBDAT 5 LAST\r\n\r\nb\r\n")
        XCTAssertEqual(framed(["a\r\n", "\r"]), "BDAT 5 LAST\r\na\r\n\r\n")
    }

    /// What arrives in the remote spool is the same for DATA and for BDAT.
    func testBothModesCarryTheSameMessage() {
        let blocks = ["Subject: y\r\n", "\r\n.a\nb\r", "\nc"]
        var framer = BDATFramer()
        var chunks: [UInt8] = []
        for block in blocks { chunks += framer.add(Array(block.utf8)) ?? [] }
        chunks += framer.finish()
        let unframed = unframe(chunks)
        let undotted = unstuff(Array(stuffed(blocks).utf8))
        XCTAssertEqual(String(decoding: unframed, as: UTF8.self), "Subject: y\r\n\r\n.a\r\nb\r\nc\r\n")
        XCTAssertEqual(unframed, undotted)
    }

    private func unframe(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        var rest = bytes[...]
        while let lineEnd = rest.firstIndex(of: 0x0A) {
            let words = String(decoding: rest[..<(lineEnd - 1)], as: UTF8.self).split(separator: " ")
            let size = Int(words[1]) ?? 0
            let start = lineEnd + 1
            out += rest[start..<(start + size)]
            rest = rest[(start + size)...]
        }
        return out
    }

    private func unstuff(_ bytes: [UInt8]) -> [UInt8] {
        let text = String(decoding: bytes, as: UTF8.self)
        let lines = text.components(separatedBy: "\r\n").dropLast(2)
        return Array(lines.map { $0.hasPrefix(".") ? String($0.dropFirst()) : $0 }.map { $0 + "\r\n" }.joined().utf8)
    }

    func testXText() {
        XCTAssertEqual(XTextEncoding.encode("plain-id_1"), "plain-id_1")
        XCTAssertEqual(XTextEncoding.encode("a+b=c d"), "a+2Bb+3Dc+20d")
        XCTAssertEqual(XTextEncoding.encode("é\u{7F}"), "+C3+A9+7F")
    }

    func testORCPTParameter() {
        XCTAssertEqual(
            SMTPClientStateMachine.originalRecipientParameter("rfc822;alice+x@example.test"),
            "ORCPT=rfc822;alice+2Bx@example.test")
        XCTAssertNil(SMTPClientStateMachine.originalRecipientParameter("no-semicolon"))
        XCTAssertNil(SMTPClientStateMachine.originalRecipientParameter(";alice@example.test"))
        XCTAssertNil(SMTPClientStateMachine.originalRecipientParameter("rfc822;"))
        XCTAssertNil(SMTPClientStateMachine.originalRecipientParameter("rfc 822;a@b"))
    }

    func testCommandAddresses() {
        XCTAssertTrue(CommandAddress.isSendable("", allowEmpty: true))
        XCTAssertFalse(CommandAddress.isSendable("", allowEmpty: false))
        XCTAssertTrue(CommandAddress.isSendable("\"john doe\"@example.test", allowEmpty: false))
        XCTAssertTrue(CommandAddress.isSendable("jöhn@example.test", allowEmpty: false))
        for bad in ["a>b@example.test", "a<b", "a\r\nRCPT TO:<x@y>", "a\u{0}b", "a\u{7F}", "a\tb"] {
            XCTAssertFalse(CommandAddress.isSendable(bad, allowEmpty: false), bad)
        }
        XCTAssertFalse(CommandAddress.isSendable(String(repeating: "a", count: 257), allowEmpty: false))
    }
}
