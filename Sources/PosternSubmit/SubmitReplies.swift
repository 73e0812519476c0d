import PosternCore

/// Submit's answers to the sendmail command, as SMTP replies: the command
/// maps their classes to sysexits codes (2xx done, 4xx kept for a later
/// pickup, 5xx refused).
enum SubmitReplies {
    static let notADropFile = SMTPReply(code: 501, enhanced: "5.5.4", text: "Not a drop file name")
    static let notYourFile = SMTPReply(code: 550, enhanced: "5.7.1", text: "Not your drop file")
    static let busy = SMTPReply(code: 451, enhanced: "4.3.0", text: "Already being picked up")
    static let missing = SMTPReply(code: 550, enhanced: "5.3.0", text: "No such drop file")
    static let notReady = SMTPReply(code: 451, enhanced: "4.3.0", text: "The drop file is not complete yet")
    static let discarded = SMTPReply(code: 250, enhanced: "2.0.0", text: "Discarded by policy")
    static let noValidRecipients = SMTPReply(code: 554, enhanced: "5.5.0", text: "No valid recipients")
    static let tooManyConnections = SMTPReply(code: 421, enhanced: "4.3.2", text: "Too many submissions at once")

    static func refused(_ why: String) -> SMTPReply {
        SMTPReply(code: 550, enhanced: "5.7.1", text: "Drop file refused: \(why)")
    }

    static func temporary(_ why: String) -> SMTPReply {
        SMTPReply(code: 451, enhanced: "4.3.0", text: "Kept for a later try: \(why)")
    }

    static func queued(_ id: QueueID) -> SMTPReply {
        SMTPReply(code: 250, enhanced: "2.0.0", text: "Queued as \(id)")
    }
}

extension SMTPReply {
    /// The same reply with more lines.
    func adding(_ lines: [String]) -> SMTPReply {
        SMTPReply(code: code, enhanced: enhanced, text: text, additionalLines: additionalLines + lines)
    }
}
