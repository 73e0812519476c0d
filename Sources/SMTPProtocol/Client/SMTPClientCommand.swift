/// The commands the client sends, rendered to wire bytes. Every argument
/// that came from a message (addresses, DSN values) has been checked or
/// xtext-encoded before it gets here, so no command can carry a second
/// command inside it.
enum SMTPClientCommand: Equatable {
    case ehlo(String)
    case helo(String)
    case startTLS
    /// The reverse path without brackets ("" for the null sender), and
    /// ESMTP parameters as `KEYWORD` or `KEYWORD=value`.
    case mail(from: String, parameters: [String])
    case rcpt(to: String, parameters: [String])
    case data
    case rset
    case quit

    var bytes: [UInt8] { Array(line.utf8) + [0x0D, 0x0A] }

    private var line: String {
        switch self {
        case .ehlo(let name): return "EHLO " + Self.domainArgument(name)
        case .helo(let name): return "HELO " + Self.domainArgument(name)
        case .startTLS: return "STARTTLS"
        case .mail(let from, let parameters): return (["MAIL FROM:<\(from)>"] + parameters).joined(separator: " ")
        case .rcpt(let to, let parameters): return (["RCPT TO:<\(to)>"] + parameters).joined(separator: " ")
        case .data: return "DATA"
        case .rset: return "RSET"
        case .quit: return "QUIT"
        }
    }

    /// The HELO name comes from configuration, which validated it; this
    /// only guarantees the line stays one line whatever it holds.
    private static func domainArgument(_ name: String) -> String {
        let kept = name.utf8.filter { $0 > 0x20 && $0 < 0x7F }
        return kept.isEmpty ? "localhost" : String(decoding: kept, as: UTF8.self)
    }
}

/// Which addresses can be put between angle brackets on a command line.
/// The queue's envelope checks already exclude CR, LF and NUL; this refuses
/// every other control character and the brackets too, and applies the
/// RFC 5321 §4.5.3.1.3 path limit, so that a bad address fails on its own
/// instead of being sent as something else.
enum CommandAddress {
    static let maxLength = 256

    static func isSendable(_ address: String, allowEmpty: Bool) -> Bool {
        let bytes = address.utf8
        if bytes.isEmpty { return allowEmpty }
        guard bytes.count <= maxLength else { return false }
        return bytes.allSatisfy { byte in
            byte >= 0x20 && byte != 0x7F && byte != UInt8(ascii: "<") && byte != UInt8(ascii: ">")
        }
    }
}
