/// One complete reply from a remote SMTP server, as the strict parser let it
/// through: a code whose first digit is 2 to 5, the same on every line, and
/// at least one line of text (possibly empty).
public struct SMTPServerReply: Equatable, Sendable {
    public let code: Int
    /// The RFC 3463 code (`5.1.1`) at the start of the first line, when its
    /// class agrees with the reply code. Servers send these whether or not
    /// they advertise ENHANCEDSTATUSCODES, so it is taken wherever it is
    /// well formed; a code that contradicts the reply (`550 2.1.5`) is only
    /// text.
    public let enhancedStatus: String?
    /// The text after `DDD-` or `DDD ` on each line, the first line
    /// including any enhanced status code. Bytes above 127 were decoded as
    /// UTF-8 with replacement; nothing here is trusted as structure.
    public let lines: [String]

    init(code: Int, lines: [String]) {
        self.code = code
        self.lines = lines
        self.enhancedStatus = lines.first.flatMap { Self.leadingEnhancedStatus($0, replyClass: code / 100) }
    }

    /// 2xx.
    public var isPositive: Bool { code / 100 == 2 }
    /// 3xx: only DATA expects one (354).
    public var isIntermediate: Bool { code / 100 == 3 }
    /// 4xx.
    public var isTransientFailure: Bool { code / 100 == 4 }
    /// 5xx.
    public var isPermanentFailure: Bool { code / 100 == 5 }

    /// `class.subject.detail` with one digit of class and one to three
    /// digits each after it, followed by a space or the end of the line.
    static func leadingEnhancedStatus(_ text: String, replyClass: Int) -> String? {
        let word = text.utf8.prefix { $0 != UInt8(ascii: " ") }
        let parts = word.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 1, parts[1].count <= 3, parts[2].count <= 3,
            parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy { $0 >= 0x30 && $0 <= 0x39 } }),
            let first = parts[0].first, Int(first - 0x30) == replyClass
        else { return nil }
        return String(decoding: word, as: UTF8.self)
    }
}
