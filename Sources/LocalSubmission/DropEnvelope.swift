import MailVocabulary

/// The envelope at the head of a drop file: what the command knew and the
/// daemon's submit process needs, written by the command (the daemon may
/// be down) and read back by the submit process, which trusts none of it
/// but what it checks against the file itself (owner, name).
///
/// The format, line by line, each ending in LF:
///
///     POSTERN-DROP 1
///     key value        (value percent-encoded: see PercentEncoding)
///     ...
///                      (an empty line)
///     the message, canonical (CR LF, not dot-stuffed)
///
/// Keys: `name`, `uid`, `time` (required); `sender` (absent: the caller's
/// login; present and empty: the null sender), `full-name`, `recipient`
/// (repeatable), `extract`, `ignore-dots`, `verbose` (flags, value `1`,
/// absent when false), `error-mode`, `delivery-mode`, `body`, `notify`,
/// `ret`, `envid`, `log-tag`, `hop-count`. An unknown key is an error, not
/// skipped: a new key means a new version, so an old reader never drops a
/// request it does not understand.
public struct DropEnvelope: Equatable, Sendable {
    public static let magic = "POSTERN-DROP 1"

    public var name: DropFileName
    /// Unix seconds when the command wrote the file.
    public var time: Int64
    /// nil: the login of `uid`; "": the null sender.
    public var sender: String?
    public var fullName: String?
    public var recipients: [String] = []
    public var extractRecipients = false
    public var ignoreDots = false
    public var errorMode: SendmailErrorMode = .print
    public var deliveryMode: SendmailDeliveryMode = .background
    public var bodyType: MessageBodyType?
    public var notify: DSNNotify?
    public var ret: DSNReturn?
    public var envelopeID: String?
    public var logTag: String?
    public var hopCount: Int?
    public var verbose = false

    public init(name: DropFileName, time: Int64) {
        self.name = name
        self.time = time
    }

    /// The envelope of a `deliver` invocation.
    public init(name: DropFileName, time: Int64, invocation: SendmailInvocation) {
        self.init(name: name, time: time)
        sender = invocation.sender
        fullName = invocation.fullName
        recipients = invocation.recipients
        extractRecipients = invocation.extractRecipients
        ignoreDots = invocation.ignoreDots
        errorMode = invocation.errorMode
        deliveryMode = invocation.deliveryMode
        bodyType = invocation.bodyType
        notify = invocation.notify
        ret = invocation.ret
        envelopeID = invocation.envelopeID
        logTag = invocation.logTag
        hopCount = invocation.hopCount
        verbose = invocation.verbose
    }

    /// The user who wrote the file, as its name says.
    public var uid: UInt32 { name.uid }

    /// The envelope and the empty line after it; the message follows.
    /// It decodes again whenever the values keep to the limits
    /// `SendmailArguments.parse` enforces (which are the decoder's).
    public var encoded: [UInt8] {
        var lines = [DropEnvelope.magic, "name \(name)", "uid \(uid)", "time \(time)"]
        func add(_ key: DropKey, _ value: String?) {
            if let value { lines.append("\(key.rawValue) \(PercentEncoding.encode(value))") }
        }
        add(.sender, sender)
        add(.fullName, fullName)
        add(.extract, extractRecipients ? "1" : nil)
        add(.ignoreDots, ignoreDots ? "1" : nil)
        add(.verbose, verbose ? "1" : nil)
        add(.errorMode, errorMode.rawValue)
        add(.deliveryMode, deliveryMode.rawValue)
        add(.body, bodyType?.rawValue)
        add(.notify, notify?.word)
        add(.ret, ret?.rawValue)
        add(.envid, envelopeID)
        add(.logTag, logTag)
        add(.hopCount, hopCount.map(String.init))
        for recipient in recipients { add(.recipient, recipient) }
        return Array((lines.joined(separator: "\n") + "\n\n").utf8)
    }

    /// Decodes a whole envelope at the start of `bytes`.
    ///
    /// - Returns: the envelope and the offset of the message in `bytes`.
    public static func decode(_ bytes: [UInt8]) throws(DropFileError) -> (envelope: DropEnvelope, messageOffset: Int) {
        var decoder = DropEnvelopeDecoder()
        guard let result = try decoder.consume(bytes[...]) else { throw .truncated }
        return (result.envelope, result.consumed)
    }
}

/// The keys of the drop file's envelope, in their spelling there.
enum DropKey: String, CaseIterable {
    case name, uid, time, sender, recipient, extract, verbose, body, notify, ret, envid
    case fullName = "full-name"
    case ignoreDots = "ignore-dots"
    case errorMode = "error-mode"
    case deliveryMode = "delivery-mode"
    case logTag = "log-tag"
    case hopCount = "hop-count"
}

/// Why a drop file was not taken: the submit process logs it, with the
/// file's name, and sets the file aside.
public enum DropFileError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The first line is not `DropEnvelope.magic`.
    case notADropFile
    /// The input ended before the empty line that ends the envelope.
    case truncated
    case lineTooLong(line: Int)
    case envelopeTooLarge
    case tooManyRecipients
    /// Not `key SP value`, or a byte that the encoding does not allow.
    case malformedLine(line: Int)
    case unknownKey(String)
    case duplicateKey(String)
    case missingKey(String)
    case invalidValue(key: String)
    /// `uid` and the uid in `name` differ.
    case inconsistentUID

    public var description: String {
        switch self {
        case .notADropFile: return "not a drop file (no \(DropEnvelope.magic) line)"
        case .truncated: return "envelope incomplete"
        case .lineTooLong(let line): return "line \(line) too long"
        case .envelopeTooLarge: return "envelope too large"
        case .tooManyRecipients: return "too many recipients"
        case .malformedLine(let line): return "line \(line) malformed"
        case .unknownKey(let key): return "unknown key \(key)"
        case .duplicateKey(let key): return "duplicate key \(key)"
        case .missingKey(let key): return "missing key \(key)"
        case .invalidValue(let key): return "invalid value for \(key)"
        case .inconsistentUID: return "uid does not match the name"
        }
    }
}
