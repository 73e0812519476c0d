/// The notice's machine-readable part, `message/delivery-status` (RFC 3464
/// §2): the per-message fields, then one block per recipient. Everything
/// is US-ASCII; addresses outside it use RFC 6533's `utf-8` type in its
/// 7-bit form, other text gets "?" for what it cannot carry.
enum DSNDeliveryStatus {
    static func body(for report: DSNReport, hostname: String, privacy: DSNPrivacy) -> String {
        var out = DSNHeaderField.render("Reporting-MTA", "dns; \(hostname)")
        out += DSNHeaderField.render("X-Postern-Queue-ID", report.originalQueueID.value)
        let envelopeID = DSNSanitizer.asciiLine(report.envelopeID, limit: 100)
        if !envelopeID.isEmpty { out += DSNHeaderField.render("Original-Envelope-Id", envelopeID) }
        out += DSNHeaderField.render("Arrival-Date", date(report.timing.arrivalDate))

        for recipient in report.recipients {
            out += "\r\n"
            if let original = DSNSanitizer.originalRecipientField(recipient.originalRecipient) {
                out += DSNHeaderField.render("Original-Recipient", original)
            }
            out += DSNHeaderField.render("Final-Recipient", DSNSanitizer.addressField(recipient.address))
            if !privacy.noActualRecipient && !recipient.actualRecipient.isEmpty {
                out += DSNHeaderField.render("X-Actual-Recipient", DSNSanitizer.addressField(recipient.actualRecipient))
            }
            out += DSNHeaderField.render("Action", recipient.action ?? report.event.action)
            out += DSNHeaderField.render(
                "Status", DSNStatusCode.forAction(report.event, result: recipient.reason).description)
            if recipient.diagnosticSource == .smtp {
                let text = DSNSanitizer.asciiLine(recipient.reason, limit: DSNSanitizer.maxReasonLength)
                if !text.isEmpty { out += DSNHeaderField.render("Diagnostic-Code", "smtp; \(text)") }
            }
            if let last = report.timing.lastAttemptDate {
                out += DSNHeaderField.render("Last-Attempt-Date", date(last))
            }
            if report.event == .delayed, let until = report.timing.willRetryUntil {
                out += DSNHeaderField.render("Will-Retry-Until", date(until))
            }
        }
        return out
    }

    /// A date string from the caller, made safe for a field.
    static func date(_ text: String) -> String { DSNSanitizer.asciiLine(text, limit: 64) }
}
