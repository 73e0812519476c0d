/// The pieces of session state the server machine keeps. Each is a plain
/// value so that resetting a transaction is assigning nil, never a list of
/// fields someone might forget.
extension SMTPServerStateMachine {
    /// What the machine is doing with input. Only `command` and
    /// `receivingData` consume bytes; the waiting phases hold input back so
    /// that replies leave in command order however much the client
    /// pipelines.
    enum Phase: Equatable, Sendable {
        case command
        case awaitingRecipientVerdict(address: String)
        case awaitingMessageOpen
        case receivingData
        case awaitingCommit(queueID: String)
        case closed
    }

    /// The HELO/EHLO the client gave; MAIL is refused until there is one.
    struct ClientGreeting: Equatable, Sendable {
        var name: String
        var esmtp: Bool
    }

    /// One MAIL transaction (RFC 5321 §3.3): cleared by RSET, HELO/EHLO,
    /// and the end of DATA whatever its outcome.
    struct Transaction: Equatable, Sendable {
        var sender: ReversePath
        var body: MailBodyType?
        var recipients: [AcceptedRecipient] = []
        /// RCPTs asked about, accepted or not: tells "need RCPT" from "no
        /// valid recipients" at DATA.
        var recipientsTried = 0
    }

    /// The spool file being written during DATA.
    struct OpenMessage: Sendable {
        var queueID: String
        var receiver: DataReceiver
        var headerSize: Int
    }
}
