/// The pieces of session state the server machine keeps. Each is a plain
/// value so that resetting a transaction is assigning nil, never a list of
/// fields someone might forget.
extension SMTPServerStateMachine {
    /// What the machine is doing with input. Only `command`,
    /// `receivingData`, `receivingChunk` and `discardingChunk` consume
    /// bytes; the waiting phases hold input back so that replies leave in
    /// command order however much the client pipelines.
    enum Phase: Equatable, Sendable {
        case command
        /// MAIL asked the lookup; the transaction starts on `accept`.
        case awaitingSenderVerdict(Transaction)
        /// RCPT asked the lookup; `localUser` is filled in on `accept`.
        case awaitingRecipientVerdict(AcceptedRecipient)
        case awaitingMessageOpen(MessageStart)
        case receivingData
        case receivingChunk(Chunk)
        /// The bytes of a refused BDAT chunk: read and dropped, so that
        /// they are never taken for commands (RFC 3030 §2).
        case discardingChunk(remaining: Int)
        case awaitingCommit(queueID: String)
        /// STARTTLS was answered 220; the handshake is the I/O layer's.
        case awaitingTLS
        /// An AUTH step is at the lookup.
        case awaitingAuthStep
        /// A 334 challenge was sent; the next line is the client's response.
        case readingAuthResponse
        case closed
    }

    /// What asked for the spool file.
    enum MessageStart: Equatable, Sendable {
        case data
        /// The transaction's first BDAT; its bytes may already be waiting
        /// in the input.
        case chunk(Chunk)
    }

    /// One BDAT chunk being read.
    struct Chunk: Equatable, Sendable {
        var size: Int
        var remaining: Int
        var last: Bool
    }

    /// The HELO/EHLO the client gave. Only `needmailhelo` makes MAIL wait
    /// for one.
    struct ClientGreeting: Equatable, Sendable {
        var name: String
        var esmtp: Bool
    }

    /// One MAIL transaction (RFC 5321 §3.3): cleared by RSET, HELO/EHLO,
    /// and the end of the message whatever its outcome.
    struct Transaction: Equatable, Sendable {
        var sender: ReversePath
        var parameters: MailParameters
        var recipients: [AcceptedRecipient] = []
        /// RCPTs asked about, accepted or not: tells "need RCPT" from "no
        /// valid recipients" at DATA.
        var recipientsTried = 0
        /// Recipients accepted with a DISCARD verdict: they count as
        /// accepted, but are not delivered to.
        var discardedRecipients = 0
        /// A DISCARD verdict (sender or recipient) was given: the message
        /// is read and then thrown away.
        var discard = false

        var acceptedCount: Int { recipients.count + discardedRecipients }
    }

    /// The spool file being written during DATA or across BDAT chunks.
    struct OpenMessage: Sendable {
        var queueID: String
        /// The transfer decoding (DATA's, or BDAT's checks only).
        var receiver: DataReceiver?
        var assembler: MessageAssembler
        /// Bytes written to the spool file so far, Received: included.
        var written = 0

        /// Counted before the decoding drops the content of a message it
        /// already refuses, so that the size limit is reported whatever
        /// else is wrong.
        func sizeExceeded(_ limit: Int) -> Bool {
            assembler.sizeExceeded || (receiver?.contentSize ?? 0) > limit
        }
    }
}
