/// An RFC 3463 enhanced status code, `class.subject.detail`.
public struct DSNStatusCode: Equatable, Sendable, CustomStringConvertible {
    public var statusClass: Int
    public var subject: Int
    public var detail: Int

    public init?(statusClass: Int, subject: Int, detail: Int) {
        guard [2, 4, 5].contains(statusClass), (0...999).contains(subject), (0...999).contains(detail) else {
            return nil
        }
        self.statusClass = statusClass
        self.subject = subject
        self.detail = detail
    }

    public var description: String { "\(statusClass).\(subject).\(detail)" }

    /// Parses `2.1.5`: class 2, 4 or 5, then one to three digits twice.
    public init?(_ text: Substring) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 1,
            parts[1...].allSatisfy({ (1...3).contains($0.count) }),
            parts.allSatisfy({ $0.allSatisfy { $0.isASCII && $0.isNumber } }),
            let c = Int(parts[0]), let s = Int(parts[1]), let d = Int(parts[2])
        else { return nil }
        self.init(statusClass: c, subject: s, detail: d)
    }

    /// The code a delivery result starts with: `5.1.1 user unknown`, or
    /// after an SMTP reply code, `550 5.1.1 user unknown` (or the
    /// multiline form, `550-5.1.1 user unknown`).
    public static func leading(in result: String) -> DSNStatusCode? {
        let words = result.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: true)
        guard var word = words.first else { return nil }
        if isReplyCode(word) {
            guard words.count > 1 else { return nil }
            word = words[1]
        } else if word.utf8.count > 4, isReplyCode(word.prefix(4)) {
            word = word.dropFirst(4)
        }
        return DSNStatusCode(word)
    }

    /// The `Status:` of a recipient: its result's code when the code agrees
    /// with the action, otherwise the generic one. A failure keeps a 4.x.x
    /// code (an expiry: `4.4.7`), as Sendmail and Postfix report it.
    public static func forAction(_ event: DSNEvent, result: String) -> DSNStatusCode {
        let found = leading(in: result)
        switch event {
        case .failed:
            if let found, found.statusClass != 2 { return found }
            return permanentFailure
        case .delayed:
            if let found, found.statusClass == 4 { return found }
            return transientFailure
        case .delivered:
            if let found, found.statusClass == 2 { return found }
            return success
        }
    }

    /// The generic codes of RFC 3463 §3.1: "other undefined status".
    public static let success = DSNStatusCode(constant: 2)
    public static let transientFailure = DSNStatusCode(constant: 4)
    public static let permanentFailure = DSNStatusCode(constant: 5)

    /// For the literal generic codes above only.
    private init(constant statusClass: Int) {
        self.statusClass = statusClass
        subject = 0
        detail = 0
    }

    /// `250`, `451`, `550` (or `550-`): an RFC 5321 reply code of class 2,
    /// 4 or 5.
    static func isReplyCode(_ word: Substring) -> Bool {
        let bytes = Array(word.utf8)
        guard bytes.count == 3 || (bytes.count == 4 && bytes[3] == UInt8(ascii: "-")) else { return false }
        return [UInt8(ascii: "2"), UInt8(ascii: "4"), UInt8(ascii: "5")].contains(bytes[0])
            && (UInt8(ascii: "0")...UInt8(ascii: "5")).contains(bytes[1])
            && (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[2])
    }
}

/// Where a recipient's reason came from, for `Diagnostic-Code:`.
public enum DSNDiagnosticSource: Equatable, Sendable {
    /// A remote server's SMTP (or LMTP) reply: reported as
    /// `Diagnostic-Code: smtp; <reply>`.
    case smtp
    /// Our own delivery code: the reason goes in the text part and the
    /// `Status:` only (Sendmail writes no Diagnostic-Code for these either).
    case local

    /// A result that starts with a reply code (`550 5.1.1 …`) is an SMTP
    /// reply; anything else is our own text.
    public static func guess(from result: String) -> DSNDiagnosticSource {
        guard let first = result.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true).first else {
            return .local
        }
        return DSNStatusCode.isReplyCode(first) || DSNStatusCode.isReplyCode(first.prefix(4)) ? .smtp : .local
    }
}
