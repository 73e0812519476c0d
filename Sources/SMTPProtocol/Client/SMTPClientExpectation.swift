extension SMTPClientStateMachine {
    /// A reply the server owes us, named by what it answers.
    enum Expectation: Equatable, Sendable {
        case greeting
        case ehlo
        case helo
        case startTLS
        case rset
        case mail
        /// RCPT for the recipient at this index.
        case rcpt(Int)
        case data
        /// The final reply after CR LF "." CR LF.
        case dataEnd
        /// The reply to a lone "." sent because DATA got 354 with no
        /// recipient accepted (RFC 2920 §3.1): its content is irrelevant.
        case abandonedData
        case bdat(last: Bool)
        case quit

        /// The command as result texts name it: "(in reply to RCPT TO)".
        var command: String {
            switch self {
            case .greeting: return "the greeting"
            case .ehlo: return "EHLO"
            case .helo: return "HELO"
            case .startTLS: return "STARTTLS"
            case .rset: return "RSET"
            case .mail: return "MAIL FROM"
            case .rcpt: return "RCPT TO"
            case .data: return "DATA"
            case .dataEnd, .abandonedData: return "end of DATA"
            case .bdat: return "BDAT"
            case .quit: return "QUIT"
            }
        }

        /// "while waiting for reply to RCPT TO".
        var waiting: String {
            self == .greeting ? "while waiting for the greeting" : "while waiting for reply to \(command)"
        }

        /// RFC 5321 §4.5.3.2.
        func timeout(_ timeouts: SMTPClientTimeouts) -> Int {
            switch self {
            case .greeting: return timeouts.greeting
            case .ehlo, .helo, .startTLS, .rset, .quit: return timeouts.command
            case .mail: return timeouts.mail
            case .rcpt: return timeouts.rcpt
            case .data: return timeouts.dataInitiation
            case .bdat(last: false): return timeouts.dataBlock
            case .dataEnd, .abandonedData, .bdat(last: true): return timeouts.dataTermination
            }
        }
    }

    /// Why the conversation cannot go on.
    enum ProtocolViolation: Equatable, Sendable {
        case malformedReply(SMTPReplyParseError)
        /// A reply when none was owed.
        case unsolicitedReply(Int)
        /// A reply code that does not answer the command (354 to MAIL).
        case unexpectedReply(Int)
        /// Bytes behind the STARTTLS 220, which must not be read as if they
        /// had come over TLS.
        case inputAfterSTARTTLS
        case cleartextDuringHandshake

        var description: String {
            switch self {
            case .malformedReply(let error): return "malformed reply (\(Self.describe(error)))"
            case .unsolicitedReply(let code): return "unexpected reply \(code) when none was due"
            case .unexpectedReply(let code): return "unexpected reply code \(code)"
            case .inputAfterSTARTTLS: return "data after the STARTTLS reply"
            case .cleartextDuringHandshake: return "cleartext during the TLS handshake"
            }
        }

        private static func describe(_ error: SMTPReplyParseError) -> String {
            switch error {
            case .lineTooLong: return "line too long"
            case .tooManyLines: return "too many lines"
            case .replyTooLong: return "reply too long"
            case .bareLineEnding: return "bare CR or LF"
            case .controlCharacter(let byte): return "control character \(byte)"
            case .malformedLine: return "not a reply line"
            case .invalidCode(let code): return "invalid code \(code)"
            case .inconsistentCode(let expected, let found): return "code \(found) inside reply \(expected)"
            }
        }
    }
}
