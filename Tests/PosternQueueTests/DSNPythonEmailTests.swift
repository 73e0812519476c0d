import Foundation
import PosternCore
import XCTest

@testable import PosternQueue

/// A second opinion on the notice's structure: Python's `email` package, an
/// independent and widely used MIME parser, must read it as a
/// multipart/report with a message/delivery-status part and find no defect.
final class DSNPythonEmailTests: XCTestCase {
    private static let script = """
        import sys, email, email.policy
        m = email.message_from_bytes(sys.stdin.buffer.read(), policy=email.policy.default)
        out = [m.get_content_type(), m.get_param('report-type') or '']
        parts = list(m.iter_parts())
        out.append(','.join(p.get_content_type() for p in parts))
        blocks = parts[1].get_payload()
        out.append(blocks[0]['Reporting-MTA'] or '')
        out.append(';'.join((b['Final-Recipient'] or '') + '|' + (b['Action'] or '') + '|' + (b['Status'] or '')
                            for b in blocks[1:]))
        out.append(str(parts[2].get_payload(0)['Subject']) if parts[2].is_multipart() else '')
        defects = [type(d).__name__ for p in m.walk() for d in p.defects]
        out.append(','.join(defects))
        print('\\n'.join(out))
        """

    private func python() -> URL? {
        for path in ["/usr/bin/python3", "/usr/local/bin/python3"]
        where FileManager.default.isExecutableFile(atPath: path) {
            return URL(fileURLWithPath: path)
        }
        return nil
    }

    func testPythonEmailParsesTheNotice() throws {
        guard let python = python() else { throw XCTSkip("python3 not installed") }
        let envelope = DSNFixture.envelope([
            DSNFixture.failed("bob@example.test", "5.1.1 user unknown", orcpt: "rfc822;bob@example.test"),
            DSNFixture.failed("erin@example.org", user: "", "550 5.2.2 mailbox full"),
        ])
        let (message, _, _) = try composeNotice(envelope, event: .failed)

        let process = Process()
        process.executableURL = python
        process.arguments = ["-c", Self.script]
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        let started = Date()
        try process.run()
        input.fileHandleForWriting.write(Data(message.bytes))
        try input.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        XCTAssertLessThan(Date().timeIntervalSince(started), 5, "python3 was slow")
        XCTAssertEqual(process.terminationStatus, 0)

        let lines = String(decoding: data, as: UTF8.self).components(separatedBy: "\n")
        XCTAssertEqual(lines.count, 8, "\(lines)")
        guard lines.count >= 7 else { return }
        XCTAssertEqual(lines[0], "multipart/report")
        XCTAssertEqual(lines[1], "delivery-status")
        XCTAssertEqual(lines[2], "text/plain,message/delivery-status,message/rfc822")
        XCTAssertEqual(lines[3], "dns; mx.example.test")
        XCTAssertEqual(
            lines[4], "rfc822; bob@example.test|failed|5.1.1;rfc822; erin@example.org|failed|5.2.2")
        XCTAssertEqual(lines[5], "hello")
        XCTAssertEqual(lines[6], "", "defects: \(lines[6])")
    }
}
