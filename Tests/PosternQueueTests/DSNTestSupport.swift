import Foundation
import PosternCore
import XCTest

@testable import PosternQueue

/// A small MIME reader for the DSN tests, written from RFC 2045/2046 and
/// independent of the composer: header fields (unfolded), the boundary,
/// the body parts, and RFC 3464 field groups.
struct MIMEEntity {
    /// Field names lowercased, values unfolded and trimmed, in order.
    var fields: [(name: String, value: String)]
    var body: [UInt8]

    var bodyText: String { String(decoding: body, as: UTF8.self) }

    func field(_ name: String) -> String? { fields.first { $0.name == name.lowercased() }?.value }
    func all(_ name: String) -> [String] { fields.filter { $0.name == name.lowercased() }.map(\.value) }

    /// `type/subtype` of Content-Type, lowercased.
    var contentType: String? {
        field("content-type")?.split(separator: ";").first.map {
            $0.trimmingCharacters(in: .whitespaces).lowercased()
        }
    }

    /// A Content-Type parameter, unquoted.
    func parameter(_ name: String) -> String? {
        guard let value = field("content-type") else { return nil }
        for piece in value.split(separator: ";").dropFirst() {
            let pair = piece.split(separator: "=", maxSplits: 1)
            guard pair.count == 2, pair[0].trimmingCharacters(in: .whitespaces).lowercased() == name else { continue }
            var v = pair[1].trimmingCharacters(in: .whitespaces)
            if v.hasPrefix("\"") && v.hasSuffix("\"") && v.count >= 2 { v = String(v.dropFirst().dropLast()) }
            return v
        }
        return nil
    }

    /// Splits a header section from its body at the first empty line.
    static func parse(_ bytes: [UInt8]) -> MIMEEntity {
        let lines = splitLines(bytes)
        var fields: [(String, String)] = []
        var index = 0
        var bodyStart = bytes.count
        var offset = 0
        while index < lines.count {
            let line = lines[index]
            if line.isEmpty {
                bodyStart = offset + 2
                break
            }
            let text = String(decoding: line, as: UTF8.self)
            if let first = line.first, first == 0x20 || first == 0x09, !fields.isEmpty {
                fields[fields.count - 1].1 += text
            } else if let colon = text.firstIndex(of: ":") {
                fields.append((String(text[..<colon]).lowercased(), String(text[text.index(after: colon)...])))
            }
            offset += line.count + 2
            index += 1
        }
        let cleaned = fields.map { (name: $0.0, value: $0.1.trimmingCharacters(in: .whitespaces)) }
        return MIMEEntity(fields: cleaned, body: bodyStart <= bytes.count ? Array(bytes[bodyStart...]) : [])
    }

    /// The body parts of a multipart body (RFC 2046 §5.1.1: the CRLF before
    /// a delimiter belongs to it), plus whether the close delimiter was seen.
    func parts() -> (parts: [MIMEEntity], closed: Bool)? {
        guard let boundary = parameter("boundary") else { return nil }
        let delimiter = Array("--\(boundary)".utf8)
        let close = delimiter + Array("--".utf8)
        var parts: [[UInt8]] = []
        var current: [UInt8]?
        var closed = false
        for line in MIMEEntity.splitLines(body) {
            if line == delimiter || line == close {
                if let done = current { parts.append(Array(done.dropLast(2))) }
                if line == close {
                    closed = true
                    current = nil
                    break
                }
                current = []
                continue
            }
            current? += line + [0x0D, 0x0A]
        }
        return (parts.map(MIMEEntity.parse), closed)
    }

    /// RFC 3464 §2.1: groups of fields separated by empty lines.
    func fieldGroups() -> [MIMEEntity] {
        var groups: [MIMEEntity] = []
        var current: [UInt8] = []
        for line in MIMEEntity.splitLines(body) + [[]] {
            if line.isEmpty {
                if !current.isEmpty { groups.append(MIMEEntity.parse(current + [0x0D, 0x0A])) }
                current = []
            } else {
                current += line + [0x0D, 0x0A]
            }
        }
        return groups
    }

    /// Lines split at CRLF only; a final line without one is kept.
    static func splitLines(_ bytes: [UInt8]) -> [[UInt8]] {
        var lines: [[UInt8]] = []
        var start = 0
        var i = 0
        while i + 1 < bytes.count {
            if bytes[i] == 0x0D && bytes[i + 1] == 0x0A {
                lines.append(Array(bytes[start..<i]))
                i += 2
                start = i
            } else {
                i += 1
            }
        }
        if start < bytes.count { lines.append(Array(bytes[start...])) }
        return lines
    }
}

/// The shared fixture: an original message, its envelope and the times.
enum DSNFixture {
    static let hostname = "mx.example.test"
    static let arrival: Int64 = 1_700_000_000
    static let noticeDate = "Mon, 23 Nov 2026 16:00:00 +0000"
    static let lastAttempt = "Mon, 23 Nov 2026 15:59:00 +0000"
    static let retryUntil = "Wed, 18 Nov 2026 22:13:20 +0000"
    static let originalID = QueueID("0123456789AB")
    static let noticeID = QueueID("ZYXWVTSRQPNM")
    static let bodyMarker = "SECRET-BODY-MARKER"

    static let original = Array(
        ("Received: from client.test (client.test [192.0.2.1])\r\n\tby mx.example.test with ESMTP id 0123456789AB\r\n"
            + "From: Alice <alice@example.test>\r\nTo: bob@example.test\r\nSubject: hello\r\n"
            + "Message-ID: <m1@example.test>\r\n\r\nBody line one\r\n\(bodyMarker)\r\n").utf8)
    static var originalHeaders: [UInt8] {
        let text = String(decoding: original, as: UTF8.self)
        let end = text.range(of: "\r\n\r\n")?.lowerBound ?? text.endIndex
        return Array((String(text[..<end]) + "\r\n").utf8)
    }

    static let timing = DSNTiming(
        date: noticeDate, arrivalDate: RFC5322Date.format(epochSeconds: arrival), lastAttemptDate: lastAttempt,
        willRetryUntil: retryUntil)

    static func envelope(
        sender: String = "alice@example.test", _ recipients: [Recipient], ret: DSNReturn? = nil, envid: String = ""
    ) -> Envelope {
        Envelope(
            queueID: originalID ?? QueueID.generate(), sender: sender, recipients: recipients, arrival: arrival,
            clientAddress: "192.0.2.1", clientHelo: "client.test", size: Int64(original.count), dsnReturn: ret,
            envelopeID: envid)
    }

    static func failed(
        _ address: String, user: String? = nil, _ result: String, notify: DSNNotify = [],
        orcpt: String = ""
    ) -> Recipient {
        Recipient(
            address: address, localUser: user ?? String(address.prefix { $0 != "@" }), state: .failed,
            lastResult: result, notify: notify, originalRecipient: orcpt)
    }
}

struct NoNotice: Error {
    var decision: DSNDecision
}

/// Checks and helpers shared by the DSN test cases.
extension XCTestCase {
    /// Decides, composes and parses one notice; fails the test when the
    /// policy decides on none.
    func composeNotice(
        _ envelope: Envelope, event: DSNEvent, privacy: DSNPrivacy = DSNPrivacy(),
        original: DSNOriginalMessage = DSNOriginalMessage(bytes: DSNFixture.original),
        maxReturnedSize: Int = DSNComposer.defaultMaxReturnedSize, file: StaticString = #filePath, line: UInt = #line
    ) throws -> (message: DSNMessage, parsed: MIMEEntity, parts: [MIMEEntity]) {
        let notice: DSNNotice
        switch DSNPolicy(privacy: privacy).decide(envelope, event: event) {
        case .notifySender(let n), .notifyPostmaster(let n): notice = n
        case let other:
            XCTFail("no notice: \(other)", file: file, line: line)
            throw NoNotice(decision: other)
        }
        let composer = DSNComposer(
            hostname: DSNFixture.hostname, privacy: privacy, maxReturnedSize: maxReturnedSize)
        let id = try XCTUnwrap(DSNFixture.noticeID)
        let message = try composer.compose(
            notice, about: envelope, timing: DSNFixture.timing, queueID: id, original: original)
        assertWellFormed(message.bytes, file: file, line: line)
        let parsed = MIMEEntity.parse(message.bytes)
        let split = try XCTUnwrap(parsed.parts(), "no boundary", file: file, line: line)
        XCTAssertTrue(split.closed, "no close delimiter", file: file, line: line)
        XCTAssertEqual(split.parts.count, 3, file: file, line: line)
        return (message, parsed, split.parts)
    }

    /// Every line ends in CRLF and has at most 998 octets; no NUL, bare CR
    /// or bare LF anywhere.
    func assertWellFormed(_ bytes: [UInt8], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertFalse(bytes.contains(0), "NUL in message", file: file, line: line)
        var length = 0
        var longest = 0
        var i = 0
        while i < bytes.count {
            if bytes[i] == 0x0D {
                guard i + 1 < bytes.count, bytes[i + 1] == 0x0A else {
                    XCTFail("bare CR at \(i)", file: file, line: line)
                    return
                }
                longest = max(longest, length)
                length = 0
                i += 2
                continue
            }
            if bytes[i] == 0x0A {
                XCTFail("bare LF at \(i)", file: file, line: line)
                return
            }
            length += 1
            i += 1
        }
        longest = max(longest, length)
        XCTAssertLessThanOrEqual(longest, 998, "line too long", file: file, line: line)
        XCTAssertEqual(Array(bytes.suffix(2)), [0x0D, 0x0A], "no final CRLF", file: file, line: line)
    }
}
