import PosternCore

/// The original message as the caller read it from the spool: the first
/// octets of the data file (at least `maxReturnedSize + 1` of them, so that
/// an oversize message need not be read whole) and the file's full size.
public struct DSNOriginalMessage: Equatable, Sendable {
    public var prefix: [UInt8]
    public var totalSize: Int

    public init(prefix: [UInt8], totalSize: Int) {
        self.prefix = prefix
        self.totalSize = max(totalSize, prefix.count)
    }

    /// The whole message.
    public init(bytes: [UInt8]) {
        self.init(prefix: bytes, totalSize: bytes.count)
    }

    var isComplete: Bool { totalSize == prefix.count }
}

/// The notice's third part: the whole original (`message/rfc822`) or its
/// header section (`text/rfc822-headers`), in lines that are CRLF-ended and
/// at most 998 octets (RFC 5322 §2.1.1).
struct DSNOriginalPart: Equatable, Sendable {
    static let maxLineLength = 998
    /// Where a long header line is folded: well under the limit, leaving room
    /// for the folding blank.
    static let foldLength = 980

    var content: DSNReturnedContent
    var contentType: String
    var bytes: [UInt8]

    static func make(
        original: DSNOriginalMessage, event: DSNEvent, ret: DSNReturn?, noBodyReturn: Bool, maxReturnedSize: Int
    ) -> DSNOriginalPart {
        var content = DSNReturnedContent.fullMessage
        if event != .failed {
            content = .headersOnly(.noticeKind)
        } else if noBodyReturn {
            content = .headersOnly(.privacy)
        } else if ret == .headers {
            content = .headersOnly(.requested)
        } else if original.totalSize > maxReturnedSize || !original.isComplete {
            content = .headersOnly(.tooLarge)
        } else if !isSafeAsIs(original.prefix) {
            content = .headersOnly(.unsafeContent)
        }
        if content == .fullMessage {
            return DSNOriginalPart(content: content, contentType: "message/rfc822", bytes: original.prefix)
        }
        let headers = headerSection(of: original.prefix, limit: maxReturnedSize)
        return DSNOriginalPart(content: content, contentType: "text/rfc822-headers", bytes: headers)
    }

    /// Whether the message can be attached octet for octet: every line ends
    /// in CRLF (the last may end without one), none is over 998 octets, and
    /// there is no NUL, bare CR or bare LF.
    static func isSafeAsIs(_ bytes: [UInt8]) -> Bool {
        var lineLength = 0
        var index = 0
        while index < bytes.count {
            switch bytes[index] {
            case 0x00, 0x0A:
                return false
            case 0x0D:
                guard index + 1 < bytes.count, bytes[index + 1] == 0x0A else { return false }
                lineLength = 0
                index += 2
                continue
            default:
                lineLength += 1
                if lineLength > maxLineLength { return false }
            }
            index += 1
        }
        return true
    }

    /// The header section: the lines before the first empty one (all of
    /// them when there is none), re-ended with CRLF, NUL and stray CRs made
    /// blanks, long lines folded, cut at a line boundary after `limit`
    /// octets. Ends with CRLF unless empty.
    static func headerSection(of bytes: [UInt8], limit: Int) -> [UInt8] {
        var out: [UInt8] = []
        var start = 0
        while start < bytes.count {
            var end = bytes[start...].firstIndex(of: 0x0A) ?? bytes.count
            let lineEnd = end
            if end > start && bytes[end - 1] == 0x0D { end -= 1 }
            if end == start { break }  // the empty line: the body follows
            var line = Array(bytes[start..<end])
            for i in line.indices where line[i] == 0x00 || line[i] == 0x0D { line[i] = 0x20 }
            let folded = fold(line)
            if out.count + folded.count > limit { break }
            out += folded
            start = lineEnd + 1
        }
        return out
    }

    /// One header line, CRLF-ended; over the limit, broken into continuation
    /// lines that start with a blank: before a blank already there when one
    /// is near, otherwise with an added one, never inside a UTF-8 character.
    static func fold(_ line: [UInt8]) -> [UInt8] {
        let crlf: [UInt8] = [0x0D, 0x0A]
        var rest = line[...]
        guard rest.count > foldLength else { return line + crlf }
        // Trailing blanks could end up alone on a continuation line, which
        // readers take for the end of the header section.
        while let last = rest.last, isBlank(last) { rest = rest.dropLast() }
        var out: [UInt8] = []
        var lead: [UInt8] = []
        while lead.count + rest.count > foldLength {
            let room = foldLength - lead.count
            var cut = rest.startIndex + room
            let nextLead: [UInt8]
            if let blank = rest[(rest.startIndex + room / 2)..<cut].lastIndex(where: isBlank) {
                cut = blank
                nextLead = []
            } else {
                while cut > rest.startIndex + 1 && rest[cut] & 0xC0 == 0x80 { cut -= 1 }
                nextLead = [0x20]
            }
            out += lead + rest[..<cut] + crlf
            rest = rest[cut...]
            lead = nextLead
        }
        return out + lead + rest + crlf
    }

    private static func isBlank(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 }
}
