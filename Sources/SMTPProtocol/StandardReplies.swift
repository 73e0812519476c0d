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
        code: 214, enhanced: "2.0.0", text: "Commands: HELO EHLO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP")
    /// RFC 5321 §3.5.3: 252 says nothing about whether the user exists.
    /// Sendmail's `novrfy` text; given with and without `novrfy`, because
    /// VRFY never reveals users here (the flag only decides whether
    /// `needvrfyhelo` is consulted first).
    static let cannotVerify = SMTPReply(
        code: 252, enhanced: "2.5.2", text: "Cannot VRFY user; try RCPT to attempt delivery (or try finger)")
    /// Sendmail's VERB reply; nothing changes (there is no verbose mode).
    static let verboseMode = SMTPReply(code: 250, enhanced: "2.0.0", text: "Verbose mode")

    static func queued(as queueID: String) -> SMTPReply {
        SMTPReply(code: 250, enhanced: "2.0.0", text: "\(queuedText) \(queueID)")
    }

    static let queuedText = "Ok: queued as"

    /// The end of a discarded message (Sendmail's DISCARD): exactly what a
    /// queued message gets, so the client cannot tell; the spool file it
    /// names was aborted, and the I/O layer logs the discard.
    static func discarded(as queueID: String) -> SMTPReply { queued(as: queueID) }

    /// RFC 3030: one non-last BDAT chunk read.
    static func chunkReceived(_ octets: Int) -> SMTPReply {
        SMTPReply(code: 250, enhanced: "2.0.0", text: "\(octets) octets received")
    }

    // MARK: Command line discipline

    static let commandNotRecognized = SMTPReply(code: 500, enhanced: "5.5.2", text: "Error: command not recognized")
    static let lineTooLong = SMTPReply(code: 500, enhanced: "5.5.2", text: "Line too long")
    static let bareLineEnding = SMTPReply(code: 500, enhanced: "5.5.2", text: "Bare CR or LF not allowed")
    static let nulInCommand = SMTPReply(code: 500, enhanced: "5.5.2", text: "NUL character not allowed")

    // MARK: Privacy options and refused commands (Sendmail's texts)

    /// `noexpn`, `noetrn`.
    static let notAllowed = SMTPReply(code: 502, enhanced: "5.7.0", text: "Sorry, we do not allow this operation")
    /// EXPN without `noexpn`: there is no list expansion to offer.
    static let expnNotImplemented = SMTPReply(code: 502, enhanced: "5.7.0", text: "EXPN is not implemented")
    /// ETRN without `noetrn`: RFC 1985's "unable to queue" rather than a
    /// claim that a queue run started, because none would.
    static let etrnUnavailable = SMTPReply(code: 458, enhanced: "4.5.0", text: "Unable to queue messages for node")
    static let verbUnavailable = SMTPReply(code: 502, enhanced: "5.7.0", text: "Verbose unavailable")
    /// `needmailhelo`.
    static let politeHelo = SMTPReply(code: 503, enhanced: "5.0.0", text: "Polite people say HELO first")
    /// `needvrfyhelo`, `needexpnhelo`.
    static let introduceYourself = SMTPReply(
        code: 503, enhanced: "5.0.0", text: "I demand that you introduce yourself first")
    /// Every command but QUIT after a greeting that refused the client
    /// (RFC 5321 §3.1: the server then waits for QUIT).
    static let accessDenied = SMTPReply(code: 503, enhanced: "5.7.0", text: "Error: access denied")

    // MARK: Sequence

    static let needHelo = SMTPReply(code: 503, enhanced: "5.5.1", text: "Error: send HELO/EHLO first")
    static let needMail = SMTPReply(code: 503, enhanced: "5.5.1", text: "Error: need MAIL command")
    static let nestedMail = SMTPReply(code: 503, enhanced: "5.5.1", text: "Error: nested MAIL command")
    static let needRecipient = SMTPReply(code: 503, enhanced: "5.5.1", text: "Error: need RCPT command")
    static let noValidRecipients = SMTPReply(code: 554, enhanced: "5.5.1", text: "Error: no valid recipients")
    /// RFC 3030 §2: BDAT and DATA are not mixed in one transaction, and the
    /// envelope is complete once the first chunk arrived.
    static let dataAfterBdat = SMTPReply(code: 503, enhanced: "5.5.1", text: "Error: DATA after BDAT")
    static let mailAfterBdat = SMTPReply(code: 503, enhanced: "5.5.1", text: "Error: MAIL after BDAT")
    static let rcptAfterBdat = SMTPReply(code: 503, enhanced: "5.5.1", text: "Error: RCPT after BDAT")

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

    /// RFC 6531 §3.5: UTF-8 in an address of a transaction that did not
    /// declare SMTPUTF8.
    static let nonASCIISender = SMTPReply(
        code: 553, enhanced: "5.6.7", text: "Non-ASCII addresses not permitted for that sender without SMTPUTF8")
    static let nonASCIIRecipient = SMTPReply(
        code: 553, enhanced: "5.6.7", text: "Non-ASCII addresses not permitted for that recipient without SMTPUTF8")

    static let messageTooBig = SMTPReply(code: 552, enhanced: "5.3.4", text: "Message size exceeds fixed limit")
    static let tooManyRecipients = SMTPReply(code: 452, enhanced: "4.5.3", text: "Too many recipients")

    // MARK: Message content

    /// The SMTP smuggling defence (CVE-2023-51764 and kin): a message that
    /// another MTA might split differently is refused, not repaired.
    static let bareLineEndingInData = SMTPReply(
        code: 550, enhanced: "5.6.11", text: "Message contains bare CR or bare LF")
    static let nulInData = SMTPReply(code: 554, enhanced: "5.6.0", text: "Message contains NUL character")
    static let tooManyHops = SMTPReply(code: 554, enhanced: "5.4.6", text: "Too many hops")
    static let headerSectionTooLarge = SMTPReply(code: 552, enhanced: "5.3.4", text: "Header section too large")

    static func headerMalformed(_ reason: String) -> SMTPReply {
        SMTPReply(code: 554, enhanced: "5.6.0", text: "Message header malformed: \(reason)")
    }
    static let queueFileError = SMTPReply(code: 451, enhanced: "4.3.0", text: "Error: queue file write error")
    /// Bytes arrived after DATA before our 354: RFC 2920 §3.1 makes DATA the
    /// last command of a group, so they cannot be message content yet, and
    /// reading them as commands would execute a message body.
    static let synchronizationError = SMTPReply(
        code: 554, enhanced: "5.5.0", text: "Error: SMTP protocol synchronization")

    // MARK: STARTTLS and AUTH

    static let readyToStartTLS = SMTPReply(code: 220, enhanced: "2.0.0", text: "Ready to start TLS")
    static let tlsNotAvailable = SMTPReply(code: 502, enhanced: "5.5.1", text: "Error: command not implemented")
    static let tlsAlreadyActive = SMTPReply(code: 503, enhanced: "5.5.1", text: "Error: TLS already active")
    static let transactionInProgress = SMTPReply(
        code: 503, enhanced: "5.5.1", text: "Error: MAIL transaction in progress")
    static let authNotEnabled = SMTPReply(code: 503, enhanced: "5.5.1", text: "Error: authentication not enabled")
    static let alreadyAuthenticated = SMTPReply(code: 503, enhanced: "5.5.1", text: "Error: already authenticated")
    static let encryptionRequired = SMTPReply(
        code: 538, enhanced: "5.7.11", text: "Encryption required for requested authentication mechanism")
    static let unknownMechanism = SMTPReply(code: 504, enhanced: "5.5.4", text: "Unrecognized authentication type")
    static let authAborted = SMTPReply(code: 501, enhanced: "5.0.0", text: "Authentication aborted")
    static let cannotDecodeAuth = SMTPReply(code: 501, enhanced: "5.5.2", text: "Cannot decode response")
    static let authSucceeded = SMTPReply(code: 235, enhanced: "2.7.0", text: "Authentication successful")
    static let authRequired = SMTPReply(code: 530, enhanced: "5.7.0", text: "Authentication required")

    static func challenge(_ bytes: [UInt8]) -> SMTPReply {
        SMTPReply(code: 334, enhanced: "", text: Base64.encode(bytes))
    }

    static func tooManyAuthFailures(_ hostname: String) -> SMTPReply {
        SMTPReply(code: 421, enhanced: "4.7.0", text: "\(hostname) Error: too many authentication failures")
    }

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
