import MailVocabulary

/// What one run of `sendmail` was asked to do, as its command line said
/// it: the command acts on this, and the parts that travel to the daemon
/// go into the drop file (`DropEnvelope`).
public struct SendmailInvocation: Equatable, Sendable {
    public var mode: SendmailMode = .deliver
    /// Addresses from the command line, split at commas, as given (not
    /// qualified: the caller adds @MyHostname to bare local parts).
    public var recipients: [String] = []
    /// -t: take the recipients from To, Cc and Bcc (or their Resent- forms).
    /// With `recipients` given as well, Sendmail and Exim send to the header
    /// addresses minus those; Postfix sends to both. The caller decides.
    public var extractRecipients = false
    /// -i, -oi: a line of a single "." does not end the message.
    public var ignoreDots = false
    /// -f or -r: nil means the caller's login; "" the null sender (`-f <>`).
    public var sender: String?
    /// -F: the full name for a From: line the command adds.
    public var fullName: String?
    public var errorMode: SendmailErrorMode = .print
    public var deliveryMode: SendmailDeliveryMode = .background
    /// -B: nil when not given.
    public var bodyType: MessageBodyType?
    /// -N: nil when not given (the daemon's default then applies).
    public var notify: DSNNotify?
    /// -R: nil when not given.
    public var ret: DSNReturn?
    /// -V: the DSN envelope identifier, printable ASCII (not yet
    /// xtext-encoded), at most 100 characters.
    public var envelopeID: String?
    public var verbose = false
    /// -L: the tag for log lines.
    public var logTag: String?
    /// -h: the initial hop count.
    public var hopCount: Int?
    /// -C: another configuration file.
    public var configFile: String?
    /// What the caller prints on stderr, one line each: options accepted but
    /// ignored. Never a reason to fail.
    public var notes: [String] = []

    public init() {}
}

/// -b: what the run is for.
public enum SendmailMode: Equatable, Sendable {
    /// -bm, the default: read a message on stdin and send it.
    case deliver
    /// -bs: an SMTP session on stdin and stdout.
    case smtpSession
    /// -bp, or the command run as `mailq`.
    case printQueue
    /// -bi or -I, or the command run as `newaliases`.
    case rebuildAliases
    /// -bv: say whether each recipient is deliverable; send nothing.
    case verify
    /// -bd, -bD: a daemon, which this command does not become (the caller
    /// points the user at `postern daemon`).
    case daemon
    /// -q: run the queue, once.
    case runQueue(QueueRunSelection)
}

/// Which messages -q asks to retry. Every list filters: a message must
/// match one entry of each non-empty list.
public struct QueueRunSelection: Equatable, Sendable {
    /// -qI: substrings of queue IDs.
    public var queueIDs: [String] = []
    /// -qR: substrings of recipient addresses.
    public var recipients: [String] = []
    /// -qS: substrings of the sender address.
    public var senders: [String] = []
    /// -q30m: Sendmail's interval for a daemon that runs the queue
    /// periodically. Postern's daemon has its own schedule, so the caller
    /// runs the queue once and may say so; kept here only for that message.
    public var interval: String?

    public init(queueIDs: [String] = [], recipients: [String] = [], senders: [String] = [], interval: String? = nil) {
        self.queueIDs = queueIDs
        self.recipients = recipients
        self.senders = senders
        self.interval = interval
    }

    public var selectsAll: Bool { queueIDs.isEmpty && recipients.isEmpty && senders.isEmpty }
}

/// -oe: how errors are reported. The raw value is the option letter and the
/// drop file's spelling.
public enum SendmailErrorMode: String, Equatable, Sendable {
    /// -oem, and -oew (writing to the terminal is not done: mail instead).
    case mail = "m"
    /// -oep, the default: print on stderr and exit with the status.
    case print = "p"
    /// -oeq: exit with the status, print nothing.
    case quiet = "q"
    /// -oee: mail the error back and exit 0 (Berknet's mode).
    case mailAndExitZero = "e"
}

/// -od: when delivery happens. The raw value is the option letter and the
/// drop file's spelling.
public enum SendmailDeliveryMode: String, Equatable, Sendable {
    /// -odb, the default: hand the message to the daemon and return.
    case background = "b"
    /// -odi: wait for the first delivery attempt.
    case interactive = "i"
    /// -odq, and -odd: queue only, the next queue run delivers it.
    case queue = "q"
}

/// Why a command line was refused: the caller prints `message`, then
/// `SendmailArguments.usage`, and exits with `SysExits.usage`.
public struct SendmailUsageError: Error, Equatable, Sendable, CustomStringConvertible {
    public var message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { "sendmail: \(message)" }
}
