import PosternCore
/// Why one line of a virtusertable or mailertable was refused. Typed so that
/// the pieces of the parsers throw precisely and the line loop turns each
/// into a `MapProblem` with the file and line.
public enum VirtualMapError: Error, Equatable, Sendable, CustomStringConvertible {
    // The line itself.
    case nulCharacter
    case controlCharacter
    case lineTooLong(bytes: Int)
    case missingValue(key: String)

    // Keys.
    case invalidVirtualKey(String)
    case invalidMailertableKey(String)

    // Values shared by both maps.
    case emptyErrorSpec
    case unknownErrorName(String)
    case invalidErrorCode(String)
    case mismatchedErrorClass(code: Int, enhanced: String)
    case unterminatedQuote(String)
    case invalidReplyText

    // virtusertable values.
    case invalidAddress(String)
    case invalidLocalUser(String)
    case notASingleAddress(String)
    case bangPath(String)
    case invalidPercentSequence(String)
    case deliveryTargetNotAllowed(String)

    // mailertable values.
    case missingMailer(String)
    case unsupportedMailer(String)
    case missingHost(String)
    case invalidHost(String)
    case unbracketedIPAddress(String)
    case invalidPort(String)
    case userInRoute(String)

    public var description: String {
        switch self {
        case .nulCharacter: return "NUL character in line; line ignored"
        case .controlCharacter: return "control character in line; line ignored"
        case .lineTooLong(let bytes):
            return "line is \(bytes) bytes, longer than \(VirtualMapLines.maxLineBytes); line ignored"
        case .missingValue(let key): return "no value for key \"\(key)\""
        case .invalidVirtualKey(let key):
            return "invalid key \"\(key)\" (use user@domain, user+*@domain or @domain)"
        case .invalidMailertableKey(let key):
            return "invalid key \"\(key)\" (use host.domain, .domain or a lone \".\")"
        case .emptyErrorSpec: return "\"error:\" needs a reply (error:D.S.N:### text or error:nouser text)"
        case .unknownErrorName(let name):
            return "unknown error name \"\(name)\" (use a D.S.N code or one of "
                + SendmailErrorName.allCases.map(\.rawValue).joined(separator: ", ") + ")"
        case .invalidErrorCode(let value): return "invalid reply code in \"\(value)\" (expected 4xx or 5xx, D.S.N)"
        case .mismatchedErrorClass(let code, let enhanced):
            return "reply code \(code) and enhanced code \(enhanced) disagree on the class"
        case .unterminatedQuote(let value): return "unterminated quote in \"\(value)\""
        case .invalidReplyText: return "the reply text must be printable ASCII"
        case .invalidAddress(let value): return "invalid address \"\(value)\""
        case .invalidLocalUser(let value): return "invalid local user \"\(value)\""
        case .notASingleAddress(let value):
            return "\"\(value)\" is not a single address (lists belong in the aliases file)"
        case .bangPath(let value): return "bang path \"\(value)\" is not supported"
        case .invalidPercentSequence(let value): return "invalid % sequence in \"\(value)\" (only %1, %2 and %3)"
        case .deliveryTargetNotAllowed(let value):
            return "\"\(value)\": programs, files and :include: belong in the aliases file"
        case .missingMailer(let value): return "value \"\(value)\" names no mailer (use mailer:host)"
        case .unsupportedMailer(let mailer):
            return "mailer \"\(mailer)\" is not supported (use smtp, esmtp, relay, local or error)"
        case .missingHost(let value): return "no host in \"\(value)\""
        case .invalidHost(let value): return "invalid host \"\(value)\""
        case .unbracketedIPAddress(let value):
            return "IP address \"\(value)\" must be bracketed: [192.0.2.1] or [IPv6:2001:db8::1]"
        case .invalidPort(let value): return "invalid port in \"\(value)\" (1 to 65535)"
        case .userInRoute(let value): return "\"\(value)\": a user in an smtp route is not supported"
        }
    }
}
