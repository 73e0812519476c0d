import PosternCore
import XCTest

@testable import PosternQueue

final class DSNComposerTests: XCTestCase {
    private typealias F = DSNFixture

    private func bounceBob(
        _ result: String = "5.1.1 user unknown", ret: DSNReturn? = nil, envid: String = "",
        privacy: DSNPrivacy = .init()
    ) throws -> (message: DSNMessage, parsed: MIMEEntity, parts: [MIMEEntity]) {
        try composeNotice(
            F.envelope([F.failed("bob@example.test", result)], ret: ret, envid: envid), event: .failed,
            privacy: privacy)
    }

    // MARK: the whole notice

    func testFailureNoticeHasEveryField() throws {
        let (message, parsed, parts) = try bounceBob()
        XCTAssertEqual(message.sender, "")
        XCTAssertEqual(message.recipients, ["alice@example.test"])
        XCTAssertFalse(message.isDoubleBounce)
        XCTAssertEqual(message.bodyType, .sevenBit)
        XCTAssertFalse(message.smtputf8)

        XCTAssertEqual(parsed.field("From"), "Mail Delivery System <MAILER-DAEMON@mx.example.test>")
        XCTAssertEqual(parsed.field("To"), "<alice@example.test>")
        XCTAssertEqual(parsed.field("Subject"), "Undelivered Mail Returned to Sender")
        XCTAssertEqual(parsed.field("Date"), F.noticeDate)
        XCTAssertEqual(parsed.field("Message-ID"), "<ZYXWVTSRQPNM.DSN@mx.example.test>")
        XCTAssertEqual(parsed.field("Auto-Submitted"), "auto-replied")
        XCTAssertEqual(parsed.field("MIME-Version"), "1.0")
        XCTAssertEqual(parsed.contentType, "multipart/report")
        XCTAssertEqual(parsed.parameter("report-type"), "delivery-status")
        XCTAssertEqual(parsed.parameter("boundary"), "=_DSN_ZYXWVTSRQPNM")
        for name in ["From", "To", "Subject", "Date", "Message-ID", "Content-Type"] {
            XCTAssertEqual(parsed.all(name).count, 1, name)
        }

        XCTAssertEqual(parts.map(\.contentType), ["text/plain", "message/delivery-status", "message/rfc822"])
        XCTAssertEqual(parts[0].parameter("charset"), "us-ascii")
        XCTAssertTrue(parts[0].bodyText.contains("This is the mail system at host mx.example.test."))
        XCTAssertTrue(parts[0].bodyText.contains("\r\n<bob@example.test>: 5.1.1 user unknown\r\n"), parts[0].bodyText)
        XCTAssertTrue(parts[0].bodyText.contains("attached in full"))

        let groups = parts[1].fieldGroups()
        XCTAssertEqual(groups.count, 2)
        XCTAssertEqual(groups[0].field("Reporting-MTA"), "dns; mx.example.test")
        XCTAssertEqual(groups[0].field("Arrival-Date"), "Tue, 14 Nov 2023 22:13:20 +0000")
        XCTAssertEqual(groups[0].field("X-Postern-Queue-ID"), "0123456789AB")
        XCTAssertNil(groups[0].field("Original-Envelope-Id"))
        let bob = groups[1]
        XCTAssertNil(bob.field("Original-Recipient"))
        XCTAssertEqual(bob.field("Final-Recipient"), "rfc822; bob@example.test")
        XCTAssertEqual(bob.field("Action"), "failed")
        XCTAssertEqual(bob.field("Status"), "5.1.1")
        XCTAssertNil(bob.field("Diagnostic-Code"), "a local reason is not an SMTP diagnostic")
        XCTAssertEqual(bob.field("Last-Attempt-Date"), F.lastAttempt)
        XCTAssertNil(bob.field("Will-Retry-Until"))
        XCTAssertNil(bob.field("X-Actual-Recipient"))

        XCTAssertEqual(parts[2].field("Content-Description"), "Undelivered Message")
        XCTAssertEqual(parts[2].body, F.original)
    }

    func testSMTPReasonBecomesDiagnosticCode() throws {
        let (_, _, parts) = try bounceBob("550 5.2.1 mailbox disabled (in reply to RCPT TO)")
        let bob = parts[1].fieldGroups()[1]
        XCTAssertEqual(bob.field("Status"), "5.2.1")
        XCTAssertEqual(bob.field("Diagnostic-Code"), "smtp; 550 5.2.1 mailbox disabled (in reply to RCPT TO)")
    }

    func testExpiryIsAFailureWithItsOwnStatus() throws {
        let (_, _, parts) = try bounceBob("4.4.7 message expired after 5 days")
        let bob = parts[1].fieldGroups()[1]
        XCTAssertEqual(bob.field("Action"), "failed")
        XCTAssertEqual(bob.field("Status"), "4.4.7")
        XCTAssertTrue(parts[0].bodyText.contains("<bob@example.test>: 4.4.7 message expired after 5 days"))
    }

    func testStatusDefaultsWhenTheResultHasNoUsableCode() throws {
        for result in ["", "user unknown", "2.0.0 odd", "9.9.9 nonsense", "5.1 short"] {
            let (_, _, parts) = try bounceBob(result)
            XCTAssertEqual(parts[1].fieldGroups()[1].field("Status"), "5.0.0", result)
        }
    }

    func testEnvelopeIDAndOriginalRecipient() throws {
        let envelope = F.envelope(
            [F.failed("bob@example.test", "5.1.1 user unknown", orcpt: "rfc822;Bob.Original@example.org")],
            envid: "QQ314159")
        let (_, _, parts) = try composeNotice(envelope, event: .failed)
        let groups = parts[1].fieldGroups()
        XCTAssertEqual(groups[0].field("Original-Envelope-Id"), "QQ314159")
        XCTAssertEqual(groups[1].field("Original-Recipient"), "rfc822; Bob.Original@example.org")
        XCTAssertEqual(groups[1].field("Final-Recipient"), "rfc822; bob@example.test")
    }

    // MARK: the returned original

    func testReturnHeadersOnly() throws {
        for (ret, privacy) in [(DSNReturn.headers, DSNPrivacy()), (.full, DSNPrivacy(noBodyReturn: true))] {
            let (_, _, parts) = try bounceBob(ret: ret, privacy: privacy)
            XCTAssertEqual(parts[2].contentType, "text/rfc822-headers")
            XCTAssertEqual(parts[2].field("Content-Description"), "Undelivered Message Headers")
            XCTAssertEqual(parts[2].body, F.originalHeaders)
            XCTAssertTrue(String(decoding: parts[2].body, as: UTF8.self).hasPrefix("Received: from client.test"))
            for part in parts {
                XCTAssertFalse(part.bodyText.contains(F.bodyMarker), "body returned with \(ret) \(privacy)")
            }
        }
    }

    func testReturnFullWhenAskedOrByDefault() throws {
        for ret in [DSNReturn.full, nil] {
            let (_, _, parts) = try bounceBob(ret: ret)
            XCTAssertEqual(parts[2].contentType, "message/rfc822")
            XCTAssertEqual(parts[2].body, F.original)
        }
    }

    func testOversizeOriginalComesBackAsHeaders() throws {
        let envelope = F.envelope([F.failed("bob@example.test", "5.1.1 user unknown")], ret: .full)
        let small = try composeNotice(envelope, event: .failed, maxReturnedSize: F.original.count - 1)
        XCTAssertEqual(small.parts[2].contentType, "text/rfc822-headers")
        XCTAssertEqual(small.parts[2].body, F.originalHeaders)
        XCTAssertTrue(small.parts[0].bodyText.contains("too large"))

        let exact = try composeNotice(envelope, event: .failed, maxReturnedSize: F.original.count)
        XCTAssertEqual(exact.parts[2].contentType, "message/rfc822")

        // The caller read only a prefix of a larger data file.
        let prefix = DSNOriginalMessage(prefix: Array(F.original.prefix(300)), totalSize: 5_000_000)
        let partial = try composeNotice(envelope, event: .failed, original: prefix)
        XCTAssertEqual(partial.parts[2].contentType, "text/rfc822-headers")
        XCTAssertEqual(partial.parts[2].body, F.originalHeaders)
    }

    func testOriginalWithOverlongLineComesBackAsHeaders() throws {
        let long = F.original + Array(String(repeating: "x", count: 2000).utf8) + [0x0D, 0x0A]
        let envelope = F.envelope([F.failed("bob@example.test", "5.1.1 user unknown")])
        let notice = try composeNotice(envelope, event: .failed, original: DSNOriginalMessage(bytes: long))
        XCTAssertEqual(notice.parts[2].contentType, "text/rfc822-headers")
        XCTAssertEqual(notice.parts[2].body, F.originalHeaders)
        let bare = try composeNotice(
            envelope, event: .failed, original: DSNOriginalMessage(bytes: F.original + Array("bare\nLF\r\n".utf8)))
        XCTAssertEqual(bare.parts[2].contentType, "text/rfc822-headers")
    }

    func testLongHeaderLinesAreFoldedInReturnedHeaders() throws {
        let words = (0..<400).map { "word\($0)" }.joined(separator: " ")
        let solid = String(repeating: "y", count: 3000)
        let original = Array(
            "Received: by mx\r\nX-Long: \(words)\r\nX-Solid: \(solid)\r\nSubject: s\r\n\r\nbody\r\n".utf8)
        let envelope = F.envelope([F.failed("bob@example.test", "5.1.1 user unknown")], ret: .headers)
        let notice = try composeNotice(envelope, event: .failed, original: DSNOriginalMessage(bytes: original))
        let returned = MIMEEntity.parse(notice.parts[2].body + [0x0D, 0x0A])
        // Folding at blanks loses nothing.
        XCTAssertEqual(returned.field("X-Long"), words)
        // A value without blanks gets blanks added, and nothing else.
        let solidBack = try XCTUnwrap(returned.field("X-Solid"))
        XCTAssertEqual(solidBack.replacingOccurrences(of: " ", with: ""), solid)
        XCTAssertEqual(returned.field("Subject"), "s")
        XCTAssertFalse(notice.parts[2].bodyText.contains("body"))
    }

    // MARK: hostile input

    func testHostileReasonCannotForgeStructure() throws {
        let hostile =
            "550 5.1.1 bad\r\nX-Injected: yes\r\n\r\n--=_DSN_ZYXWVTSRQPNM--\0\u{85}\u{2028}\u{1B}[31m"
            + String(repeating: "A", count: 5000)
        let recipients = [
            F.failed("bob@example.test", hostile),
            F.failed("carol@example.test\r\nBcc: victim@example.org", "5.1.1 \r\nAction: delivered"),
        ]
        let envelope = F.envelope(sender: "alice@example.test\r\nBcc: victim@example.org", recipients)
        let (message, parsed, parts) = try composeNotice(envelope, event: .failed)
        let text = String(decoding: message.bytes, as: UTF8.self)
        for line in text.components(separatedBy: "\r\n") {
            XCTAssertFalse(line.hasPrefix("X-Injected"), line)
            XCTAssertFalse(line.hasPrefix("Bcc"), line)
            XCTAssertFalse(line.hasPrefix("Action: delivered"), line)
        }
        XCTAssertFalse(message.bytes.contains(0x1B), "ESC reached the notice")
        XCTAssertFalse(text.contains("\u{85}") || text.contains("\u{2028}"))
        XCTAssertNil(parsed.field("Bcc"))
        XCTAssertEqual(parsed.field("To"), "<alice@example.test Bcc: victim@example.org>")
        // The boundary in the reason was avoided.
        XCTAssertEqual(parsed.parameter("boundary"), "=_DSN_ZYXWVTSRQPNM_1")

        let groups = parts[1].fieldGroups()
        XCTAssertEqual(groups.count, 3)
        XCTAssertEqual(groups.dropFirst().map { $0.field("Action") }, ["failed", "failed"])
        XCTAssertEqual(groups[1].field("Status"), "5.1.1")
        let diagnostic = try XCTUnwrap(groups[1].field("Diagnostic-Code"))
        XCTAssertTrue(diagnostic.hasPrefix("smtp; 550 5.1.1 bad X-Injected: yes --=_DSN_"), diagnostic)
        XCTAssertLessThanOrEqual(diagnostic.utf8.count, DSNSanitizer.maxReasonLength + 10)
        XCTAssertTrue(diagnostic.hasSuffix("..."))
        // Bounded per recipient in the text part too.
        let bobLine = try XCTUnwrap(parts[0].bodyText.components(separatedBy: "\r\n").first { $0.hasPrefix("<bob@") })
        XCTAssertLessThanOrEqual(bobLine.utf8.count, DSNSanitizer.maxReasonLength + 30)
        XCTAssertLessThan(message.bytes.count, 8000)
        XCTAssertEqual(groups[2].field("Final-Recipient"), "rfc822; carol@example.test Bcc: victim@example.org")
    }

    func testBoundaryCollisionWithTheOriginal() throws {
        var original = F.original
        original += Array("--=_DSN_ZYXWVTSRQPNM\r\n--=_DSN_ZYXWVTSRQPNM_1--\r\n".utf8)
        let envelope = F.envelope([F.failed("bob@example.test", "5.1.1 user unknown")])
        let notice = try composeNotice(envelope, event: .failed, original: DSNOriginalMessage(bytes: original))
        XCTAssertEqual(notice.parsed.parameter("boundary"), "=_DSN_ZYXWVTSRQPNM_2")
        XCTAssertEqual(notice.parts[2].body, original)
    }

    func testEveryBoundaryTakenIsAnError() throws {
        let id = try XCTUnwrap(F.noticeID)
        let all = (0..<DSNComposer.boundaryAttempts).map { $0 == 0 ? "=_DSN_\(id)" : "=_DSN_\(id)_\($0)" }
        let content = Array(all.joined(separator: "\r\n").utf8)
        XCTAssertThrowsError(try DSNComposer.boundary(for: id, avoiding: [content])) { error in
            XCTAssertEqual(error as? DSNComposeError, .noUsableBoundary)
        }
        XCTAssertEqual(try DSNComposer.boundary(for: id, avoiding: [Array(content.dropLast(3))]), "=_DSN_\(id)_63")
    }

    // MARK: privacy, delays, successes, several recipients

    func testNoActualRecipientHidesTheExpansion() throws {
        let envelope = F.envelope([
            F.failed("info@example.test", user: "carol-secret", "5.2.2 mailbox full", orcpt: "rfc822;info@example.test")
        ])
        let open = try composeNotice(envelope, event: .failed)
        let openGroup = open.parts[1].fieldGroups()[1]
        XCTAssertEqual(openGroup.field("X-Actual-Recipient"), "rfc822; carol-secret@mx.example.test")

        // No expansion, nothing to hide: the user is the address's local part.
        let same = F.envelope([F.failed("Bob@example.test", user: "bob", "5.1.1 user unknown")])
        XCTAssertNil(try composeNotice(same, event: .failed).parts[1].fieldGroups()[1].field("X-Actual-Recipient"))

        let hidden = try composeNotice(envelope, event: .failed, privacy: DSNPrivacy(noActualRecipient: true))
        let group = hidden.parts[1].fieldGroups()[1]
        XCTAssertNil(group.field("X-Actual-Recipient"))
        XCTAssertEqual(group.field("Original-Recipient"), "rfc822; info@example.test")
        XCTAssertEqual(group.field("Final-Recipient"), "rfc822; info@example.test")
        XCTAssertFalse(String(decoding: hidden.message.bytes, as: UTF8.self).contains("carol-secret"))
    }

    func testDelayWarning() throws {
        let pending = Recipient(
            address: "bob@example.test", localUser: "bob", lastResult: "4.4.1 connection timed out")
        let odd = Recipient(address: "dan@example.test", localUser: "dan", lastResult: "5.1.1 odd for a delay")
        let (message, parsed, parts) = try composeNotice(F.envelope([pending, odd], ret: .full), event: .delayed)
        XCTAssertEqual(message.recipients, ["alice@example.test"])
        XCTAssertEqual(parsed.field("Subject"), "Delayed Mail (still being retried)")
        XCTAssertTrue(parts[0].bodyText.contains("THIS IS A WARNING ONLY"))
        XCTAssertTrue(parts[0].bodyText.contains("retried until \(F.retryUntil)"))
        let groups = parts[1].fieldGroups()
        XCTAssertEqual(groups[1].field("Action"), "delayed")
        XCTAssertEqual(groups[1].field("Status"), "4.4.1")
        XCTAssertEqual(groups[1].field("Will-Retry-Until"), F.retryUntil)
        XCTAssertEqual(groups[1].field("Last-Attempt-Date"), F.lastAttempt)
        XCTAssertEqual(groups[2].field("Status"), "4.0.0")
        // Headers only, even with RET=FULL.
        XCTAssertEqual(parts[2].contentType, "text/rfc822-headers")
        XCTAssertEqual(parts[2].field("Content-Description"), "Delayed Message Headers")
        XCTAssertEqual(parts[2].body, F.originalHeaders)
    }

    func testSuccessNotice() throws {
        let delivered = Recipient(
            address: "bob@example.test", localUser: "bob", state: .delivered, lastResult: "2.0.0 delivered to mailbox",
            notify: [.success, .failure])
        let plain = Recipient(address: "eve@example.test", localUser: "eve", state: .delivered, notify: .success)
        let (_, parsed, parts) = try composeNotice(F.envelope([delivered, plain]), event: .delivered)
        XCTAssertEqual(parsed.field("Subject"), "Successful Mail Delivery Report")
        let groups = parts[1].fieldGroups()
        XCTAssertEqual(groups.dropFirst().map { $0.field("Action") }, ["delivered", "delivered"])
        XCTAssertEqual(groups.dropFirst().map { $0.field("Status") }, ["2.0.0", "2.0.0"])
        XCTAssertNil(groups[1].field("Will-Retry-Until"))
        XCTAssertEqual(parts[2].contentType, "text/rfc822-headers")
        XCTAssertTrue(parts[0].bodyText.contains("<eve@example.test>: no reason given"))
    }

    func testSeveralRecipientsInMixedStates() throws {
        let envelope = F.envelope([
            F.failed("bob@example.test", "5.1.1 user unknown"),
            Recipient(address: "carol@example.test", localUser: "carol", state: .delivered, notify: .success),
            Recipient(address: "dave@example.org", localUser: "", lastResult: "4.4.1 timed out"),
            F.failed("erin@example.org", user: "", "550 5.2.2 mailbox full"),
            F.failed("frank@example.test", "5.1.1 user unknown", notify: .never),
            F.failed("gina@example.test", "4.4.7 message expired after 5 days", notify: .failure),
        ])
        let (_, _, parts) = try composeNotice(envelope, event: .failed)
        let groups = parts[1].fieldGroups().dropFirst()
        XCTAssertEqual(
            groups.map { $0.field("Final-Recipient") },
            ["rfc822; bob@example.test", "rfc822; erin@example.org", "rfc822; gina@example.test"])
        XCTAssertEqual(groups.map { $0.field("Status") }, ["5.1.1", "5.2.2", "4.4.7"])
        XCTAssertEqual(groups.map { $0.field("Action") }, ["failed", "failed", "failed"])
        XCTAssertEqual(groups.map { $0.field("Diagnostic-Code") }, [nil, "smtp; 550 5.2.2 mailbox full", nil])
        let text = parts[0].bodyText
        for absent in ["carol@", "dave@", "frank@"] { XCTAssertFalse(text.contains(absent), absent) }
        for present in ["<bob@example.test>: 5.1.1", "<erin@example.org>: 550 5.2.2", "<gina@example.test>: 4.4.7"] {
            XCTAssertTrue(text.contains(present), present)
        }
    }

    func testDoubleBounceNotice() throws {
        let envelope = F.envelope(sender: "", [F.failed("gone@example.org", user: "", "550 5.1.1 no such user")])
        let (message, parsed, parts) = try composeNotice(envelope, event: .failed)
        XCTAssertTrue(message.isDoubleBounce)
        XCTAssertEqual(message.sender, "")
        XCTAssertEqual(message.recipients, ["postmaster"])
        XCTAssertEqual(parsed.field("To"), "<postmaster@mx.example.test>")
        XCTAssertEqual(parsed.field("Subject"), "Postmaster Copy: Undelivered Mail")
        XCTAssertEqual(parts[1].fieldGroups()[1].field("Final-Recipient"), "rfc822; gone@example.org")
    }

    /// A bounce the sender's address refused, escalated to the postmaster by
    /// the caller: a double bounce about a message that had a sender.
    func testEscalatedDoubleBounceNamesTheSender() throws {
        let envelope = F.envelope([F.failed("bob@example.test", "5.1.1 user unknown")])
        let notice = DSNNotice(event: .failed, recipient: "postmaster", reportedRecipients: [0], isDoubleBounce: true)
        let id = try XCTUnwrap(F.noticeID)
        let message = try DSNComposer(hostname: F.hostname).compose(
            notice, about: envelope, timing: F.timing, queueID: id, original: DSNOriginalMessage(bytes: F.original))
        assertWellFormed(message.bytes)
        let parsed = MIMEEntity.parse(message.bytes)
        XCTAssertEqual(parsed.field("Subject"), "Postmaster Copy: Undelivered Mail")
        XCTAssertEqual(message.recipients, ["postmaster"])
        XCTAssertTrue(message.isDoubleBounce)
        let parts = try XCTUnwrap(parsed.parts()).parts
        XCTAssertTrue(parts[0].bodyText.contains("sender <alice@example.test> cannot be told"), parts[0].bodyText)
    }

    func testUTF8AddressesUseTheUTF8AddressType() throws {
        let envelope = F.envelope(
            sender: "zoë@example.test", [F.failed("jösé+x=y\\z@example.test", user: "", "5.1.1 ünknown")])
        let (message, parsed, parts) = try composeNotice(envelope, event: .failed)
        XCTAssertTrue(message.smtputf8)
        XCTAssertEqual(message.bodyType, .eightBitMIME)
        XCTAssertEqual(parsed.field("To"), "<zoë@example.test>")
        XCTAssertEqual(parsed.field("Content-Transfer-Encoding"), "8bit")
        XCTAssertEqual(parts[0].parameter("charset"), "utf-8")
        XCTAssertEqual(parts[0].field("Content-Transfer-Encoding"), "8bit")
        let group = parts[1].fieldGroups()[1]
        XCTAssertEqual(group.field("Final-Recipient"), "utf-8; j\\x{F6}s\\x{E9}\\x{2B}x\\x{3D}y\\x{5C}z@example.test")
        XCTAssertTrue(parts[1].body.allSatisfy { $0 < 0x80 }, "delivery-status must be 7-bit")
        XCTAssertTrue(parts[0].bodyText.contains("5.1.1 ünknown"))
    }

    // MARK: errors and pieces

    func testComposeErrors() throws {
        let id = try XCTUnwrap(F.noticeID)
        let oid = try XCTUnwrap(F.originalID)
        let report = DSNReport(
            event: .failed, notifyAddress: "alice@example.test", originalQueueID: oid,
            originalSender: "alice@example.test", timing: F.timing,
            recipients: [DSNRecipientReport(address: "bob@example.test", reason: "5.1.1 x")])
        let original = DSNOriginalMessage(bytes: F.original)
        func error(_ composer: DSNComposer, _ report: DSNReport) -> DSNComposeError? {
            do {
                _ = try composer.compose(report, queueID: id, original: original)
                return nil
            } catch {
                return error
            }
        }
        XCTAssertNil(error(DSNComposer(hostname: F.hostname), report))
        XCTAssertEqual(error(DSNComposer(hostname: ""), report), .invalidHostname)
        XCTAssertEqual(error(DSNComposer(hostname: "mx.example.test\r\nX: y"), report), .invalidHostname)
        var empty = report
        empty.recipients = []
        XCTAssertEqual(error(DSNComposer(hostname: F.hostname), empty), .noReportedRecipients)
        var nobody = report
        nobody.notifyAddress = "\r\n\0"
        XCTAssertEqual(error(DSNComposer(hostname: F.hostname), nobody), .noNotifyAddress)
    }

    func testStatusCodeParsing() {
        XCTAssertEqual(DSNStatusCode.leading(in: "5.1.1 user unknown")?.description, "5.1.1")
        XCTAssertEqual(DSNStatusCode.leading(in: "550 5.1.10 x")?.description, "5.1.10")
        XCTAssertEqual(DSNStatusCode.leading(in: "451-4.7.1 greylisted")?.description, "4.7.1")
        XCTAssertEqual(DSNStatusCode.leading(in: "2.0.0")?.description, "2.0.0")
        for bad in ["", "5.1", "6.1.1 x", "5.1.1000 x", "5..1 x", "a.b.c", "550 user unknown", "x 5.1.1"] {
            XCTAssertNil(DSNStatusCode.leading(in: bad), bad)
        }
        XCTAssertEqual(DSNStatusCode.forAction(.failed, result: "4.4.7 expired").description, "4.4.7")
        XCTAssertEqual(DSNStatusCode.forAction(.failed, result: "2.0.0 ok").description, "5.0.0")
        XCTAssertEqual(DSNStatusCode.forAction(.delayed, result: "5.1.1 x").description, "4.0.0")
        XCTAssertEqual(DSNStatusCode.forAction(.delivered, result: "4.4.1 x").description, "2.0.0")
        XCTAssertEqual(DSNDiagnosticSource.guess(from: "550 5.1.1 x"), .smtp)
        XCTAssertEqual(DSNDiagnosticSource.guess(from: "5.1.1 x"), .local)
        XCTAssertEqual(DSNDiagnosticSource.guess(from: "5500 x"), .local)
        XCTAssertEqual(DSNDiagnosticSource.guess(from: "451-4.7.1 greylisted"), .smtp)
        XCTAssertEqual(DSNDiagnosticSource.guess(from: ""), .local)
    }

    func testRFC5322Dates() {
        XCTAssertEqual(RFC5322Date.format(epochSeconds: 0), "Thu, 01 Jan 1970 00:00:00 +0000")
        XCTAssertEqual(RFC5322Date.format(epochSeconds: 1_700_000_000), "Tue, 14 Nov 2023 22:13:20 +0000")
        XCTAssertEqual(RFC5322Date.format(epochSeconds: 951_782_400), "Tue, 29 Feb 2000 00:00:00 +0000")
        XCTAssertEqual(RFC5322Date.format(epochSeconds: -1), "Wed, 31 Dec 1969 23:59:59 +0000")
        XCTAssertEqual(RFC5322Date.format(epochSeconds: 4_107_542_400), "Mon, 01 Mar 2100 00:00:00 +0000")
    }

    func testSanitizerBoundsAndCleans() {
        XCTAssertEqual(DSNSanitizer.line("  a\r\n\tb\0c\u{7F}d\u{9B}e  ", limit: 100), "a b c d e")
        let cut = DSNSanitizer.line(String(repeating: "é", count: 100), limit: 11)
        XCTAssertEqual(cut, "éééé...")
        XCTAssertLessThanOrEqual(cut.utf8.count, 11)
        XCTAssertEqual(DSNSanitizer.asciiLine("ünï", limit: 10), "?n?")
        XCTAssertNil(DSNSanitizer.originalRecipientField(""))
        XCTAssertNil(DSNSanitizer.originalRecipientField("no-type"))
        XCTAssertNil(DSNSanitizer.originalRecipientField(";x@y"))
        XCTAssertEqual(DSNSanitizer.originalRecipientField("utf-8;a\\x{E9}@b"), "utf-8; a\\x{E9}@b")
    }
}
