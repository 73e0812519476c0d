/// Every reply text the server produces, in one place, so an operator (or a
/// test) can see the whole vocabulary and each enhanced code next to it.
/// Texts follow Postfix where Postfix has one, because mail administrators
/// and log parsers already know them.
extension SMTPReply {
    // MARK: Successes

    static let ok = SMTPReply(code: 250, enhanced: "2.0.0", text: "Ok")
    static let senderOk = SMTPReply(code: 250, enhanced: "2.1.0", text: "Ok")
    static let recipientOk = SMTPReply(code: 250, enhanced: "2.1.5", text: "Ok")
    static let startMailInput = SMTPReply(code: 354, enhanced: "", text: "End data with <CR><LF>.<CR><LF>")
    static let bye = SMTPReply(code: 221, enhanced: "2.0.0", text: "Bye")
    static let help = SMTPReply(
        code: 214, enhanced: "2.0.0", text: "Commands: HELO EHLO MAIL RCPT DATA RSET NOOP QUIT VRFY HELP")
    /// RFC 5321 §3.5.3: 252 says nothing about whether the user exists.
    static let cannotVerify = SMTPReply(
        code: 252, enhanced: "2.5.2", text: "Cannot VRFY user; try RCPT to attempt delivery")

    static func queued(as queueID: String) -> SMTPReply {
        SMTPReply(code: 250, enhanced: "2.0.0", text: "Ok: queued as \(queueID)")
    }

    // MARK: Command line discipline

    static let commandNotRecognized = SMTPReply(code: 500, enhanced: "5.5.2", text: "Error: command not recognized")
    static let lineTooLong = SMTPReply(code: 500, enhanced: "5.5.2", text: "Line too long")
    static let bareLineEnding = SMTPReply(code: 500, enhanced: "5.5.2", text: "Bare CR or LF not allowed")
    static let nulInCommand = SMTPReply(code: 500, enhanced: "5.5.2", text: "NUL character not allowed")
    static let expnDisabled = SMTPReply(code: 502, enhanced: "5.7.0", text: "Command disabled")

    // MARK: Sequence

    static let needHelo = SMTPReply(code: 503, enhanced: "5.5.1", text: "Error: send HELO/EHLO first")
    static let needMail = SMTPReply(code: 503, enhanced: "5.5.1", text: "Error: need MAIL command")
    static let nestedMail = SMTPReply(code: 503, enhanced: "5.5.1", text: "Error: nested MAIL command")
    static let needRecipient = SMTPReply(code: 503, enhanced: "5.5.1", text: "Error: need RCPT command")
    static let noValidRecipients = SMTPReply(code: 554, enhanced: "5.5.1", text: "Error: no valid recipients")

    // MARK: Syntax and policy

    static func syntax(_ usage: String) -> SMTPReply {
        SMTPReply(code: 501, enhanced: "5.5.4", text: "Syntax: \(usage)")
    }

    static let badSenderSyntax = SMTPReply(code: 501, enhanced: "5.1.7", text: "Bad sender address syntax")
    static let badRecipientSyntax = SMTPReply(code: 501, enhanced: "5.1.3", text: "Bad recipient address syntax")

    static func invalidParameter(_ keyword: String) -> SMTPReply {
        SMTPReply(code: 501, enhanced: "5.5.4", text: "Bad \(keyword) parameter")
    }

    static func unsupportedParameter(_ keyword: String) -> SMTPReply {
        SMTPReply(code: 555, enhanced: "5.5.4", text: "Unsupported option: \(keyword)")
    }

    static let messageTooBig = SMTPReply(code: 552, enhanced: "5.3.4", text: "Message size exceeds fixed limit")
    static let tooManyRecipients = SMTPReply(code: 452, enhanced: "4.5.3", text: "Too many recipients")

    // MARK: Message content

    /// The SMTP smuggling defence (CVE-2023-51764 and kin): a message that
    /// another MTA might split differently is refused, not repaired.
    static let bareLineEndingInData = SMTPReply(
        code: 550, enhanced: "5.6.11", text: "Message contains bare CR or bare LF")
    static let nulInData = SMTPReply(code: 554, enhanced: "5.6.0", text: "Message contains NUL character")
    static let tooManyHops = SMTPReply(code: 554, enhanced: "5.4.6", text: "Too many hops")
    static let queueFileError = SMTPReply(code: 451, enhanced: "4.3.0", text: "Error: queue file write error")
    /// Bytes arrived after DATA before our 354: RFC 2920 §3.1 makes DATA the
    /// last command of a group, so they cannot be message content yet, and
    /// reading them as commands would execute a message body.
    static let synchronizationError = SMTPReply(
        code: 554, enhanced: "5.5.0", text: "Error: SMTP protocol synchronization")

    // MARK: Ending the session

    static func tooManyErrors(_ hostname: String) -> SMTPReply {
        SMTPReply(code: 421, enhanced: "4.7.0", text: "\(hostname) Error: too many errors")
    }

    static func timeout(_ hostname: String) -> SMTPReply {
        SMTPReply(code: 421, enhanced: "4.4.2", text: "\(hostname) Error: timeout exceeded")
    }

    static func inputOverflow(_ hostname: String) -> SMTPReply {
        SMTPReply(code: 421, enhanced: "4.7.0", text: "\(hostname) Error: too much pipelined input")
    }
}
