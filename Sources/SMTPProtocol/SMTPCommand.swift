/// A command line, parsed. Verbs are matched case-insensitively (RFC 5321
/// §2.4); arguments are checked here so that the state machine only ever
/// sees well-formed values.
public enum SMTPCommand: Equatable, Sendable {
    case helo(String)
    case ehlo(String)
    case mail(ReversePath, MailParameters)
    case rcpt(MailboxAddress, RecipientParameters)
    case data
    /// RFC 3030 CHUNKING: `size` octets of message follow the command line.
    case bdat(size: Int, last: Bool)
    case rset
    case noop
    case quit
    case vrfy
    case expn
    case help
    /// RFC 1985; parsed so that it can be answered, never run.
    case etrn
    /// Sendmail's VERB; parsed so that it can be answered, changes nothing.
    case verb
    /// RFC 3207.
    case starttls
    /// RFC 4954: the mechanism (upper case, RFC 4422 syntax) and the
    /// initial response, base64-decoded (empty for "=").
    case auth(mechanism: String, initialResponse: [UInt8]?)

    static let mailUsage = "MAIL FROM:<address>"
    static let rcptUsage = "RCPT TO:<address>"
    static let bdatUsage = "BDAT count [LAST]"
    /// A chunk size of more digits than this cannot be a real message (and
    /// would overflow): the command is malformed.
    static let maxChunkSizeDigits = 18
}

public enum SMTPCommandError: Error, Equatable, Sendable {
    case unknownCommand
    /// The arguments do not have the command's shape; `usage` is shown.
    case syntax(usage: String)
    case badSender(MailboxAddressError)
    case badRecipient(MailboxAddressError)
    /// A well-formed ESMTP parameter that is not implemented.
    case unsupportedParameter(keyword: String)
    /// A known ESMTP parameter with a bad or repeated value.
    case invalidParameter(keyword: String)
    /// A BDAT line whose chunk size cannot be read. The chunk's end is
    /// unknown, so the session cannot stay in step with the client: the
    /// state machine closes it after the reply.
    case malformedChunk
    /// Base64 that does not decode (RFC 4954 §4: 501 5.5.2).
    case cannotDecode

    public var reply: SMTPReply {
        switch self {
        case .unknownCommand: return .commandNotRecognized
        case .syntax(let usage): return .syntax(usage)
        case .badSender: return .badSenderSyntax
        case .badRecipient: return .badRecipientSyntax
        case .unsupportedParameter(let keyword): return .unsupportedParameter(keyword)
        case .invalidParameter(let keyword): return .invalidParameter(keyword)
        case .malformedChunk: return .syntax(SMTPCommand.bdatUsage)
        case .cannotDecode: return .cannotDecodeAuth
        }
    }
}

extension SMTPCommand {
    /// Parses one command line without its CRLF (the framer has already
    /// refused CR, LF and NUL). Trailing blanks are tolerated because many
    /// clients send them and they cannot change a command's meaning.
    public static func parse(_ line: some Collection<UInt8>) throws(SMTPCommandError) -> SMTPCommand {
        var bytes = Array(line)[...]
        while let last = bytes.last, last == ASCII.space || last == ASCII.tab { bytes.removeLast() }
        let verbEnd = bytes.firstIndex(of: ASCII.space) ?? bytes.endIndex
        let verb = bytes[..<verbEnd]
        let argument = verbEnd < bytes.endIndex ? bytes[(verbEnd + 1)...] : bytes[bytes.endIndex...]

        if verb.count == 8 && ASCII.equalsIgnoringCase(verb, "STARTTLS") {
            return try noArgument(argument, .starttls, usage: "STARTTLS")
        }
        guard verb.count == 4 else { throw .unknownCommand }
        switch ASCII.string(verb.map(ASCII.uppercased)) {
        case "HELO": return .helo(try parseHeloName(argument, usage: "HELO hostname"))
        case "EHLO": return .ehlo(try parseHeloName(argument, usage: "EHLO hostname"))
        case "MAIL": return try parseMail(argument)
        case "RCPT": return try parseRcpt(argument)
        case "DATA": return try noArgument(argument, .data, usage: "DATA")
        case "BDAT": return try parseBdat(argument)
        case "RSET": return try noArgument(argument, .rset, usage: "RSET")
        case "QUIT": return try noArgument(argument, .quit, usage: "QUIT")
        case "NOOP": return .noop
        case "HELP": return .help
        case "AUTH": return try parseAuth(argument)
        case "EXPN": return .expn
        case "VERB": return .verb
        case "VRFY":
            guard !argument.isEmpty else { throw .syntax(usage: "VRFY address") }
            return .vrfy
        case "ETRN":
            guard !argument.isEmpty else { throw .syntax(usage: "ETRN domain") }
            return .etrn
        default: throw .unknownCommand
        }
    }

    /// `AUTH mechanism [initial-response]` (RFC 4954 §4).
    private static func parseAuth(_ argument: ArraySlice<UInt8>) throws(SMTPCommandError) -> SMTPCommand {
        let usage = "AUTH mechanism [initial-response]"
        let words = argument.split(separator: ASCII.space, omittingEmptySubsequences: false)
        guard (1...2).contains(words.count), let name = words.first, (1...20).contains(name.count),
            name.allSatisfy({ ASCII.isAlphanumeric($0) || $0 == ASCII.hyphen || $0 == 0x5F })
        else { throw .syntax(usage: usage) }
        let mechanism = ASCII.string(name.map(ASCII.uppercased))
        guard words.count == 2 else { return .auth(mechanism: mechanism, initialResponse: nil) }
        let text = words[1]
        if text.count == 1 && text.first == ASCII.equals { return .auth(mechanism: mechanism, initialResponse: []) }
        guard let decoded = Base64.decode(text), !decoded.isEmpty else { throw .cannotDecode }
        return .auth(mechanism: mechanism, initialResponse: decoded)
    }

    private static func noArgument(
        _ argument: ArraySlice<UInt8>, _ command: SMTPCommand, usage: String
    ) throws(SMTPCommandError) -> SMTPCommand {
        guard argument.isEmpty else { throw .syntax(usage: usage) }
        return command
    }

    /// RFC 5321: `Domain / address-literal`, and nothing after it. The name
    /// is copied into the Received: header, so it is held to that grammar.
    private static func parseHeloName(
        _ argument: ArraySlice<UInt8>, usage: String
    ) throws(SMTPCommandError) -> String {
        guard DomainSyntax.isDomain(argument, allowUnderscore: true) || DomainSyntax.isAddressLiteral(argument) else {
            throw .syntax(usage: usage)
        }
        return ASCII.string(argument)
    }

    /// UTF-8 is accepted in the path here; whether the transaction declared
    /// SMTPUTF8 is the state machine's question (RCPT needs the answer too).
    private static func parseMail(_ argument: ArraySlice<UInt8>) throws(SMTPCommandError) -> SMTPCommand {
        guard let pathStart = pathStart(argument, keyword: "FROM:") else { throw .syntax(usage: mailUsage) }
        let path: ReversePath
        let end: Int
        do throws(MailboxAddressError) {
            (path, end) = try MailboxAddress.scanPath(argument[pathStart...], isReversePath: true, allowUTF8: true)
        } catch {
            throw .badSender(error)
        }
        return .mail(path, try MailParameters.parse(argument[end...]))
    }

    private static func parseRcpt(_ argument: ArraySlice<UInt8>) throws(SMTPCommandError) -> SMTPCommand {
        guard let pathStart = pathStart(argument, keyword: "TO:") else { throw .syntax(usage: rcptUsage) }
        let path: ReversePath
        let end: Int
        do throws(MailboxAddressError) {
            (path, end) = try MailboxAddress.scanPath(argument[pathStart...], isReversePath: false, allowUTF8: true)
        } catch {
            throw .badRecipient(error)
        }
        guard case .mailbox(let mailbox) = path else { throw .badRecipient(.nullPathNotAllowed) }
        return .rcpt(mailbox, try RecipientParameters.parse(argument[end...]))
    }

    /// `"BDAT" SP chunk-size [ SP end-marker ]` (RFC 3030 §3).
    private static func parseBdat(_ argument: ArraySlice<UInt8>) throws(SMTPCommandError) -> SMTPCommand {
        let words = argument.split(separator: ASCII.space, omittingEmptySubsequences: false)
        guard (1...2).contains(words.count), let digits = words.first, !digits.isEmpty,
            digits.count <= maxChunkSizeDigits, digits.allSatisfy(ASCII.isDigit)
        else { throw .malformedChunk }
        var last = false
        if words.count == 2 {
            guard ASCII.equalsIgnoringCase(words[1], "LAST") else { throw .malformedChunk }
            last = true
        }
        return .bdat(size: digits.reduce(0) { $0 * 10 + Int($1 - 0x30) }, last: last)
    }

    /// Where the path starts after "FROM:" or "TO:". A space after the colon
    /// is outside RFC 5321 but common enough (and harmless) to accept.
    private static func pathStart(_ argument: ArraySlice<UInt8>, keyword: String) -> Int? {
        let length = keyword.utf8.count
        guard argument.count > length, ASCII.equalsIgnoringCase(argument.prefix(length), keyword) else { return nil }
        var index = argument.startIndex + length
        while index < argument.endIndex && argument[index] == ASCII.space { index += 1 }
        return index
    }
}
