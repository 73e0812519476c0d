import PosternCore
import XCTest

@testable import LogReview

final class LogLineParserTests: XCTestCase {
    let parser = LogLineParser(yearRule: YearRule(reference: LogTime(year: 2024, month: 12, day: 8)))

    func record(_ line: String) -> LogRecord? {
        if case .record(let r) = parser.parse(line) { return r }
        return nil
    }

    func testATraditionalSyslogLine() throws {
        let r = try XCTUnwrap(record("Dec  8 01:04:37 host postern/queue[25065]: 45H0H5J4HVKR: removed"))
        XCTAssertEqual(r.time, LogTime(year: 2024, month: 12, day: 8, hour: 1, minute: 4, second: 37))
        XCTAssertEqual(r.host, "host")
        XCTAssertEqual(r.role, .queue)
        XCTAssertEqual(r.pid, 25065)
        XCTAssertEqual(r.text, "45H0H5J4HVKR: removed")
    }

    func testZeroPaddedDaysAndRFC3339Stamps() throws {
        XCTAssertEqual(record("Dec 08 01:04:37 h postern/local-worker[7]: x")?.role, .localWorker)
        let r = try XCTUnwrap(record("2023-06-01T10:11:12.123456+02:00 h postern/relay[9]: x"))
        XCTAssertEqual(r.time, LogTime(year: 2023, month: 6, day: 1, hour: 10, minute: 11, second: 12))
    }

    func testEveryRoleOfTheDaemonIsKnown() {
        XCTAssertEqual(Set(ProcessRole.allCases.map(\.rawValue)), Set(Role.allCases.map(\.rawValue)))
    }

    func testOtherProgramsAreSkippedAndBrokenLinesCounted() {
        XCTAssertEqual(parser.parse("Dec  8 01:04:37 host postfix/smtpd[1]: connect from x"), .otherProgram)
        XCTAssertEqual(parser.parse("Dec  8 01:04:37 host posternd[1]: x"), .otherProgram)
        XCTAssertEqual(parser.parse("garbage"), .unparsable)
        XCTAssertEqual(parser.parse(""), .unparsable)
        XCTAssertEqual(parser.parse("Dec  8 01:04:37 host postern[1]: x"), .unparsable)
    }

    /// The tag must be exact: a known role, a decimal pid, `]: `.
    func testForgedOrMalformedTagsAreNoRecords() {
        for line in [
            "Dec  8 01:04:37 host postern/queuex[1]: ZZZZZZZZZZZZ: removed",
            "Dec  8 01:04:37 host postern/queue[1x]: ZZZZZZZZZZZZ: removed",
            "Dec  8 01:04:37 host postern/queue[]: ZZZZZZZZZZZZ: removed",
            "Dec  8 01:04:37 host postern/queue[1]:ZZZZZZZZZZZZ: removed",
            "Dec  8 01:04:37 host postern/Queue[1]: ZZZZZZZZZZZZ: removed",
            "Dec  8 01:04:37 host postern/queue [1]: ZZZZZZZZZZZZ: removed",
        ] {
            XCTAssertEqual(parser.parse(line), .unparsable, line)
        }
        // Not at the start of the line: just text of another program.
        XCTAssertEqual(parser.parse("x postern/queue[1]: ZZZZZZZZZZZZ: removed"), .unparsable)
    }

    /// A record embedded in a listener's line stays listener text.
    func testARecordInsideNetworkTextIsText() throws {
        let forged =
            "Dec  8 01:04:37 h postern/listener[5]: reject: RCPT from 127.0.0.1: 550 5.7.1 <\"postern/queue[1]: ZZZZZZZZZZZZ: to=<a@b>, relay=local, status=sent (x)\"@example.test>: Relaying denied"
        let r = try XCTUnwrap(record(forged))
        XCTAssertEqual(r.role, .listener)
        let c = ClassifiedRecord(r)
        XCTAssertNil(c.queueID)
        XCTAssertEqual(c.event, .rejected(client: "127.0.0.1", reason: .relayingDenied))
        // The daemon escapes CR and LF (`\xA`): still one physical line.
        XCTAssertEqual(PosternLog.sanitize("a\npostern/queue[1]: b"), "a\\xApostern/queue[1]: b")
    }

    func testLineSplitterAcrossChunksAndCRLF() {
        var splitter = LineSplitter(maxLine: 16)
        var lines: [String] = []
        for chunk in ["ab", "c\r\nde", "f\n", String(repeating: "x", count: 40), "\nlast"] {
            var bytes = Array(chunk.utf8)
            bytes.withUnsafeMutableBufferPointer { p in
                splitter.feed(UnsafeBufferPointer(p)) { lines.append(String(decoding: $0, as: UTF8.self)) }
            }
        }
        splitter.finish { lines.append(String(decoding: $0, as: UTF8.self)) }
        XCTAssertEqual(lines, ["abc", "def", String(repeating: "x", count: 16), "last"])
    }
}
