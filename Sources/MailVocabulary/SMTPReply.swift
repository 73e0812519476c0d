/// One SMTP reply, possibly multi-line: what the server sends, what a
/// policy decision or a refusal carries between processes, and what the
/// relay's client reads from a remote server — one type for all three. It
/// conforms to `Error` so that a failed commit can carry the exact reply
/// the client should see.
public struct SMTPReply: Equatable, Sendable, Error, CustomStringConvertible {
    public var code: Int
    /// The RFC 3463 enhanced status code, e.g. "2.1.0". Empty for the
    /// greeting and the HELO/EHLO replies, which RFC 2034 §3 exempts.
    public var enhanced: String
    /// The text of the first line.
    public var text: String
    /// Lines after the first, for replies such as EHLO's keyword list.
    public var additionalLines: [String]

    public init(code: Int, enhanced: String, text: String, additionalLines: [String] = []) {
        self.code = code
        self.enhanced = enhanced
        self.text = text
        self.additionalLines = additionalLines
    }

    public var lines: [String] { [text] + additionalLines }

    /// The RFC 3463 code: ours, or for a reply a remote server sent, the
    /// one at the start of its first line when its class agrees with the
    /// reply code (servers send these whether or not they advertise
    /// ENHANCEDSTATUSCODES; one that contradicts the reply, `550 2.1.5`,
    /// is only text). Nil when there is none.
    public var enhancedStatus: String? {
        enhanced.isEmpty ? Self.leadingEnhancedStatus(text, replyClass: code / 100) : enhanced
    }

    /// 2xx.
    public var isPositive: Bool { code / 100 == 2 }
    /// 3xx: only DATA expects one (354).
    public var isIntermediate: Bool { code / 100 == 3 }
    /// 4xx.
    public var isTransientFailure: Bool { code / 100 == 4 }
    /// 5xx.
    public var isPermanentFailure: Bool { code / 100 == 5 }

    /// Transient (4xx) and permanent (5xx) failures: what the error limit counts.
    public var isFailure: Bool { code >= 400 }

    /// The reply as it goes on the wire. Text is sanitised here, not at every
    /// call site: a reply may quote something that came from configuration
    /// or another process, and no byte it carries may end the line early.
    public var rendered: [UInt8] {
        var out: [UInt8] = []
        let all = lines
        for (index, line) in all.enumerated() {
            out.append(contentsOf: String(code).utf8)
            let body = Self.sanitised(line)
            let isLast = index == all.count - 1
            // RFC 4954 §4: a challenge is "334" SP base64, even when empty.
            if body.isEmpty && enhanced.isEmpty && code != 334 {
                if !isLast { out.append(Byte.hyphen) }
            } else {
                out.append(isLast ? Byte.space : Byte.hyphen)
                if !enhanced.isEmpty {
                    out.append(contentsOf: Self.sanitised(enhanced))
                    if !body.isEmpty { out.append(Byte.space) }
                }
                out.append(contentsOf: body)
            }
            out.append(contentsOf: [Byte.cr, Byte.lf])
        }
        return out
    }

    public var description: String { String(decoding: rendered, as: UTF8.self) }

    /// RFC 5321's textstring is HT, SP and printable US-ASCII; anything else
    /// becomes "?" so that the reply stays one well-formed line.
    static func sanitised(_ text: String) -> [UInt8] {
        text.utf8.map { byte in
            (byte == Byte.tab || byte == Byte.space || (byte >= 0x21 && byte <= 0x7E)) ? byte : 0x3F
        }
    }
}

extension SMTPReply {
    /// A reply a remote server sent, its lines as the strict reply parser
    /// let them through: kept verbatim (the enhanced status stays in the
    /// first line's text, where `enhancedStatus` finds it), so that what a
    /// bounce quotes is what the server said.
    public init(code: Int, serverLines lines: [String]) {
        self.init(code: code, enhanced: "", text: lines.first ?? "", additionalLines: Array(lines.dropFirst()))
    }

    /// `class.subject.detail` with one digit of class and one to three
    /// digits each after it, followed by a space or the end of the line.
    static func leadingEnhancedStatus(_ text: String, replyClass: Int) -> String? {
        let word = text.utf8.prefix { $0 != Byte.space }
        let parts = word.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 1, parts[1].count <= 3, parts[2].count <= 3,
            parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy { $0 >= 0x30 && $0 <= 0x39 } }),
            let first = parts[0].first, Int(first - 0x30) == replyClass
        else { return nil }
        return String(decoding: word, as: UTF8.self)
    }
}

/// The few bytes the vocabulary needs by name.
enum Byte {
    static let tab: UInt8 = 0x09
    static let lf: UInt8 = 0x0A
    static let cr: UInt8 = 0x0D
    static let space: UInt8 = 0x20
    static let hyphen: UInt8 = 0x2D
}
