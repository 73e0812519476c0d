import XCTest

@testable import PosternLookup

/// The line-level rules and bounds both Sendmail-style maps share.
final class VirtualMapsLineTests: XCTestCase {
    func testCommentsBlankLinesAndBlanksAroundFields() {
        let text = "# comment\n\n   \n  # indented comment\n\tinfo@example.com \t alice \t\r\n"
        let (map, problems) = Virtusertable.parse(text: text, file: "virtusertable")
        XCTAssertEqual(problems, [])
        XCTAssertEqual(map.lookup("info@example.com"), .local("alice"))
    }

    func testCRLFLineEnds() {
        let (map, problems) = Mailertable.parse(
            text: "a.example local:a\r\nb.example local:b\r\n", file: "mailertable")
        XCTAssertEqual(problems, [])
        XCTAssertEqual(map.route(for: "b.example"), .local(user: "b"))
    }

    func testControlCharactersNulAndLongLinesAreProblemsWithTheirLines() {
        let long = "a@example.com " + String(repeating: "x", count: 4096)
        let text = [
            "ok1@example.com alice",
            "nul@example.com ali\u{0}ce",
            "esc@example.com \u{1b}[31malice",
            "cr@example.com al\rice",
            "del@example.com alice\u{7f}",
            "c1@example.com alice\u{85}",
            long,
            "ok2@example.com bob",
        ].joined(separator: "\n")
        let (map, problems) = Virtusertable.parse(text: text, file: "vt")
        XCTAssertEqual(
            problems.map(\.description),
            [
                "vt:2: NUL character in line; line ignored",
                "vt:3: control character in line; line ignored",
                "vt:4: control character in line; line ignored",
                "vt:5: control character in line; line ignored",
                "vt:6: control character in line; line ignored",
                "vt:7: line is 4110 bytes, longer than 4096; line ignored",
            ])
        XCTAssertEqual(map.count, 2)
        XCTAssertEqual(map.lookup("ok2@example.com"), .local("bob"))
    }

    func testALineOfExactlyTheLimitIsAccepted() {
        let key = "a@example.com "
        let value = "error:550 " + String(repeating: "x", count: VirtualMapLines.maxLineBytes - key.utf8.count - 10)
        let (map, problems) = Virtusertable.parse(text: key + value, file: "vt")
        XCTAssertEqual(problems, [])
        XCTAssertEqual(map.count, 1)
    }

    func testMailertableSharesTheLineRules() {
        let (_, problems) = Mailertable.parse(
            text: "a.example\nb.example local:x\u{0}\n", file: "mailertable")
        XCTAssertEqual(
            problems.map(\.description),
            ["mailertable:1: no value for key \"a.example\"", "mailertable:2: NUL character in line; line ignored"])
    }

    func testProblemsComeInFileOrder() {
        let text = "a@example.com\nb@example.com |prog\nc@example.com x\u{1}\nd@example.com error:bad\n"
        let (_, problems) = Virtusertable.parse(text: text, file: "vt")
        XCTAssertEqual(problems.map(\.line), [1, 2, 3, 4])
        XCTAssertEqual(problems.map(\.file), ["vt", "vt", "vt", "vt"])
    }

    // MARK: - Bounds

    func testVirtusertableStopsAtTheEntryBound() {
        let limit = VirtualMapLines.maxEntries
        var text = ""
        text.reserveCapacity((limit + 2) * 24)
        for index in 0..<limit { text += "u\(index)@example.com x\n" }
        text += "u0@example.com replaced\n"
        text += "over@example.com x\n"
        text += "after@example.com x\n"
        let (map, problems) = Virtusertable.parse(text: text, file: "vt")
        XCTAssertEqual(map.count, limit)
        XCTAssertEqual(map.lookup("u0@example.com"), .local("replaced"))
        XCTAssertNil(map.lookup("over@example.com"))
        XCTAssertNil(map.lookup("after@example.com"))
        XCTAssertEqual(
            problems.map(\.description),
            [
                "vt:\(limit + 1): warning: duplicate key \"u0@example.com\" (also on line 1); the last one wins",
                "vt:\(limit + 2): more than \(limit) entries; this line and the rest of the file ignored",
            ])
    }

    func testMailertableStopsAtTheEntryBound() {
        let limit = VirtualMapLines.maxEntries
        var text = ""
        text.reserveCapacity((limit + 2) * 24)
        for index in 0..<limit { text += "h\(index).example local:\n" }
        text += "over.example local:\n"
        let (map, problems) = Mailertable.parse(text: text, file: "mt")
        XCTAssertEqual(map.count, limit)
        XCTAssertNil(map.route(for: "over.example"))
        XCTAssertEqual(problems.map(\.line), [limit + 1])
    }
}
