import MailVocabulary

/// The submit process answers in SMTP's reply form, so the replies are
/// MailVocabulary's `SMTPReply` and go out as its `rendered` bytes:
/// `250-…` lines then `250 …`, each with the enhanced status when the
/// reply has one. Codes are 2xx (done), 4xx (try later: the command exits
/// EX_TEMPFAIL) and 5xx (refused).
///
/// This is the client's side: it reads replies incrementally and bounded
/// (`maxLines`, `maxLineLength`). An enhanced status that starts every
/// line alike, with the reply's class, is taken back out of the text, so
/// that a reply decodes to what was rendered.
public struct SubmitReplyDecoder: Sendable {
    public let maxLines: Int
    private var splitter: SubmitLineSplitter
    private var code: Int?
    private var lines: [String] = []

    public init(maxLines: Int = 100, maxLineLength: Int = 1_000) {
        self.maxLines = maxLines
        self.splitter = SubmitLineSplitter(maxLineLength: maxLineLength)
    }

    /// Reads up to the end of the first complete reply.
    ///
    /// - Returns: how many bytes were consumed and the reply, or nil for
    ///   the reply if `bytes` ended first.
    public mutating func consume(
        _ bytes: ArraySlice<UInt8>
    ) throws(SubmitProtocolError) -> (consumed: Int, reply: SMTPReply?) {
        var index = bytes.startIndex
        while index < bytes.endIndex {
            let (consumed, line) = try splitter.consume(bytes[index...])
            index += consumed
            guard let line else { break }
            if let reply = try take(line) { return (index - bytes.startIndex, reply) }
        }
        return (index - bytes.startIndex, nil)
    }

    private mutating func take(_ line: [UInt8]) throws(SubmitProtocolError) -> SMTPReply? {
        guard line.count >= 3, line[0..<3].allSatisfy(Bytes.isDigit),
            let lineCode = Int(String(decoding: line[0..<3], as: UTF8.self)),
            [2, 4, 5].contains(lineCode / 100)
        else { throw .malformedReply }
        let separator = line.count > 3 ? line[3] : Bytes.space
        guard separator == Bytes.space || separator == UInt8(ascii: "-") else { throw .malformedReply }
        let text = line.count > 4 ? line[4...] : []
        guard text.allSatisfy({ $0 == Bytes.tab || $0 == Bytes.space || Bytes.isPrintable($0) }) else {
            throw .malformedReply
        }
        if let code, code != lineCode { throw .inconsistentReplyCode }
        code = lineCode
        guard lines.count < maxLines else { throw .tooManyReplyLines }
        lines.append(String(decoding: text, as: UTF8.self))
        guard separator == Bytes.space else { return nil }
        defer {
            code = nil
            lines = []
        }
        return Self.reply(code: lineCode, lines: lines)
    }

    /// Takes a shared leading enhanced status back out of the lines.
    static func reply(code: Int, lines: [String]) -> SMTPReply {
        let first = lines[0]
        let word = String(first.prefix { $0 != " " })
        let parts = word.split(separator: ".", omittingEmptySubsequences: false)
        let isStatus =
            parts.count == 3 && parts[0] == "\(code / 100)" && parts[1].count <= 3 && parts[2].count <= 3
            && parts.allSatisfy { !$0.isEmpty && $0.utf8.allSatisfy(Bytes.isDigit) }
        let prefixed = lines.allSatisfy { $0 == word || $0.hasPrefix(word + " ") }
        guard isStatus, prefixed else { return SMTPReply(code: code, serverLines: lines) }
        let texts = lines.map { String($0.dropFirst(min($0.count, word.count + 1))) }
        return SMTPReply(code: code, enhanced: word, text: texts[0], additionalLines: Array(texts.dropFirst()))
    }
}
