import PosternCore

/// Assembles an RFC 3464 delivery status notification: a `multipart/report`
/// (RFC 6522) of the human-readable text, the `message/delivery-status`
/// and the original or its headers. Pure: report and bytes in, bytes out;
/// the caller reads the spool, supplies the dates and queues the result.
public struct DSNComposer: Equatable, Sendable {
    /// The default of `maxReturnedSize`: larger originals come back as
    /// headers only.
    public static let defaultMaxReturnedSize = 1 << 20
    /// How many boundaries are tried before giving up.
    static let boundaryAttempts = 64

    /// Our host name: `Reporting-MTA:`, `From:`, `Message-ID:`.
    public var hostname: String
    public var privacy: DSNPrivacy
    public var maxReturnedSize: Int

    public init(hostname: String, privacy: DSNPrivacy = DSNPrivacy(), maxReturnedSize: Int = defaultMaxReturnedSize) {
        self.hostname = hostname
        self.privacy = privacy
        self.maxReturnedSize = maxReturnedSize
    }

    /// The notice a `DSNPolicy` decision asked for, about `envelope`.
    /// - Parameter queueID: the id the notice will be queued under.
    public func compose(
        _ notice: DSNNotice, about envelope: Envelope, timing: DSNTiming, queueID: QueueID,
        original: DSNOriginalMessage
    ) throws(DSNComposeError) -> DSNMessage {
        let report = DSNReport(notice: notice, envelope: envelope, timing: timing, hostname: hostname)
        return try compose(report, queueID: queueID, original: original)
    }

    public func compose(_ report: DSNReport, queueID: QueueID, original: DSNOriginalMessage) throws(DSNComposeError)
        -> DSNMessage
    {
        guard DSNSanitizer.isHostname(hostname) else { throw .invalidHostname }
        guard !report.recipients.isEmpty else { throw .noReportedRecipients }
        let notifyAddress = DSNSanitizer.line(report.notifyAddress, limit: DSNSanitizer.maxAddressLength)
        guard !notifyAddress.isEmpty else { throw .noNotifyAddress }

        let returned = DSNOriginalPart.make(
            original: original, event: report.event, ret: report.returnContent, noBodyReturn: privacy.noBodyReturn,
            maxReturnedSize: maxReturnedSize)
        let text = Array(DSNText.body(for: report, hostname: hostname, returned: returned.content).utf8)
        let status = Array(DSNDeliveryStatus.body(for: report, hostname: hostname, privacy: privacy).utf8)
        let boundary = try Self.boundary(for: queueID, avoiding: [text, status, returned.bytes])

        let headerAddress = notifyAddress.contains("@") ? notifyAddress : "\(notifyAddress)@\(hostname)"
        var head = ""
        head += DSNHeaderField.render("From", "Mail Delivery System <MAILER-DAEMON@\(hostname)>")
        head += DSNHeaderField.render("To", "<\(headerAddress)>")
        head += DSNHeaderField.render("Subject", DSNText.subject(for: report))
        head += DSNHeaderField.render("Date", DSNSanitizer.asciiLine(report.timing.date, limit: 64))
        head += DSNHeaderField.render("Message-ID", "<\(queueID.value).DSN@\(hostname)>")
        head += DSNHeaderField.render("Auto-Submitted", "auto-replied")
        head += DSNHeaderField.render("MIME-Version", "1.0")
        head += DSNHeaderField.render(
            "Content-Type", "multipart/report; report-type=delivery-status; boundary=\"\(boundary)\"")

        var body: [UInt8] = []
        body += Array("This is a MIME-encapsulated message.\r\n".utf8)
        body += part(boundary, description: "Notification", type: "text/plain; charset=" + charset(text), text)
        body += part(boundary, description: "Delivery report", type: "message/delivery-status", status)
        body += part(
            boundary, description: description(of: returned, event: report.event), type: returned.contentType,
            returned.bytes)
        body += Array("\r\n--\(boundary)--\r\n".utf8)

        let eightBit = body.contains { $0 >= 0x80 }
        head += DSNHeaderField.render("Content-Transfer-Encoding", eightBit ? "8bit" : "7bit")
        let bytes = Array(head.utf8) + [0x0D, 0x0A] + body
        guard DSNOriginalPart.isSafeAsIs(bytes) else { throw .lineTooLong }
        return DSNMessage(
            sender: "", recipients: [notifyAddress], bytes: bytes, bodyType: eightBit ? .eightBitMIME : .sevenBit,
            smtputf8: !head.unicodeScalars.allSatisfy(\.isASCII), isDoubleBounce: report.isDoubleBounce)
    }

    /// One body part: the delimiter, its headers, an empty line, the content.
    private func part(_ boundary: String, description: String, type: String, _ content: [UInt8]) -> [UInt8] {
        var headers = "\r\n--\(boundary)\r\n"
        headers += DSNHeaderField.render("Content-Description", description)
        headers += DSNHeaderField.render("Content-Type", type)
        if content.contains(where: { $0 >= 0x80 }) {
            headers += DSNHeaderField.render("Content-Transfer-Encoding", "8bit")
        }
        return Array((headers + "\r\n").utf8) + content
    }

    private func charset(_ text: [UInt8]) -> String { text.allSatisfy { $0 < 0x80 } ? "us-ascii" : "utf-8" }

    private func description(of part: DSNOriginalPart, event: DSNEvent) -> String {
        let subject = event == .failed ? "Undelivered Message" : event == .delayed ? "Delayed Message" : "Message"
        return part.content == .fullMessage ? subject : subject + " Headers"
    }

    /// `=_DSN_<queue id>`, then with a counter, until one occurs in none of
    /// the parts. "=_" cannot occur in base64 or quoted-printable text, so
    /// the first almost always does; the queue id is random and unknown to
    /// whoever wrote the content.
    static func boundary(for queueID: QueueID, avoiding parts: [[UInt8]]) throws(DSNComposeError) -> String {
        for attempt in 0..<boundaryAttempts {
            let candidate = attempt == 0 ? "=_DSN_\(queueID.value)" : "=_DSN_\(queueID.value)_\(attempt)"
            let needle = Array(candidate.utf8)
            if !parts.contains(where: { contains($0, needle) }) { return candidate }
        }
        throw .noUsableBoundary
    }

    /// Whether `needle` occurs in `haystack`.
    static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard let first = needle.first, haystack.count >= needle.count else { return needle.isEmpty }
        let lastStart = haystack.count - needle.count
        var index = 0
        while index <= lastStart {
            guard let found = haystack[index...lastStart].firstIndex(of: first) else { return false }
            if haystack[found..<(found + needle.count)].elementsEqual(needle) { return true }
            index = found + 1
        }
        return false
    }
}
