/// The human-readable first part of a notice, worded after Postfix's (which
/// people have learned to read): what happened, then one line per
/// recipient with its reason, each bounded so that a remote server's
/// endless reply cannot make a notice large.
enum DSNText {
    /// The `Subject:` of each kind of notice.
    static func subject(for report: DSNReport) -> String {
        if report.isDoubleBounce { return "Postmaster Copy: Undelivered Mail" }
        switch report.event {
        case .failed: return "Undelivered Mail Returned to Sender"
        case .delayed: return "Delayed Mail (still being retried)"
        case .delivered: return "Successful Mail Delivery Report"
        }
    }

    /// The part's text, lines joined with CRLF, ending with one.
    /// - Parameter returned: what the third part holds, said in the text.
    static func body(for report: DSNReport, hostname: String, returned: DSNReturnedContent) -> String {
        var lines = ["This is the mail system at host \(hostname).", ""]
        lines += introduction(for: report)
        lines += ["", "                   The mail system", ""]
        for recipient in report.recipients {
            let address = DSNSanitizer.line(recipient.address, limit: DSNSanitizer.maxAddressLength)
            let reason = DSNSanitizer.line(recipient.reason, limit: DSNSanitizer.maxReasonLength)
            lines.append("<\(address)>: \(reason.isEmpty ? "no reason given" : reason)")
        }
        lines.append("")
        lines.append(returned.description)
        return lines.map(wrap).joined()
    }

    private static func introduction(for report: DSNReport) -> [String] {
        if report.isDoubleBounce {
            if report.originalSender.isEmpty {
                return [
                    "A message with an empty sender (a delivery status notification)",
                    "could not be delivered to the recipients below. It cannot be",
                    "returned to anyone, so this copy goes to the postmaster.",
                ]
            }
            let sender = DSNSanitizer.line(report.originalSender, limit: DSNSanitizer.maxAddressLength)
            return [
                "A message could not be delivered to the recipients below, and its",
                "sender <\(sender)> cannot be told, so this copy goes to the postmaster.",
            ]
        }
        switch report.event {
        case .failed:
            return [
                "I'm sorry to have to inform you that your message could not",
                "be delivered to one or more recipients. It's attached below.",
                "",
                "For further assistance, please send mail to postmaster.",
                "",
                "If you do so, please include this problem report. You can",
                "delete your own text from the attached returned message.",
            ]
        case .delayed:
            var text = [
                "####################################################################",
                "# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #",
                "####################################################################",
                "",
                "Your message could not be delivered yet to the recipients below.",
            ]
            if let until = report.timing.willRetryUntil {
                text.append("It will be retried until \(DSNSanitizer.line(until, limit: 64)).")
            } else {
                text.append("It will be retried.")
            }
            return text
        case .delivered:
            return [
                "Your message was successfully delivered to the destination(s)",
                "listed below. If the message was delivered to mailbox you will",
                "receive no further notifications. Otherwise you may still receive",
                "notifications of mail delivery errors from other systems.",
            ]
        }
    }

    /// Ends a line with CRLF. Lines here are at most an address and a
    /// bounded reason (well under 998 octets), so this only adds the end;
    /// the bound is checked where the whole message is assembled.
    private static func wrap(_ line: String) -> String { line + "\r\n" }
}

/// What the third part of a notice holds, and why.
enum DSNReturnedContent: Equatable, Sendable {
    case fullMessage
    case headersOnly(HeadersOnlyReason)

    enum HeadersOnlyReason: Equatable, Sendable {
        /// RET=HDRS.
        case requested
        /// Delay and success notices return headers only (as Postfix does).
        case noticeKind
        /// PrivacyOptions `nobodyreturn`.
        case privacy
        /// Larger than the configured maximum.
        case tooLarge
        /// Lines over 998 octets, or bytes that cannot travel in a message.
        case unsafeContent
    }

    var description: String {
        switch self {
        case .fullMessage:
            return "The message is attached in full."
        case .headersOnly(.tooLarge):
            return "The message was too large to return; only its headers are attached."
        case .headersOnly(.unsafeContent):
            return "The message could not be returned as it was; only its headers are attached."
        case .headersOnly:
            return "Only the message's headers are attached."
        }
    }
}
