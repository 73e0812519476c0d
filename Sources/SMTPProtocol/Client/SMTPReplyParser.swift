/// Why a server's reply stream was refused. Any of these ends the
/// connection: a client cannot resynchronise with a server whose replies it
/// cannot frame, and guessing is how the OpenSMTPD CVE-2020-8794 class of
/// bugs starts (a reply line longer than the code expects).
public enum SMTPReplyParseError: Error, Equatable, Sendable {
    /// A line longer than `SMTPReplyLimits.maxLineLength`, CR LF included.
    case lineTooLong
    /// More lines in one reply than `SMTPReplyLimits.maxLines`.
    case tooManyLines
    /// More octets in one reply than `SMTPReplyLimits.maxReplyLength`.
    case replyTooLong
    /// A CR not followed by LF, or an LF without its CR.
    case bareLineEnding
    /// NUL or another control character (TAB is allowed in text).
    case controlCharacter(UInt8)
    /// Not three digits followed by the end of the line, a space or "-".
    case malformedLine
    /// A first digit outside 2–5 or a second digit above 5 (RFC 5321 §4.2).
    case invalidCode(Int)
    /// A continuation line with another code than the reply's first line.
    case inconsistentCode(expected: Int, found: Int)
}

/// How much one reply may be. RFC 5321 §4.5.3.1.5 gives 512 octets for a
/// reply line; real servers stay well inside it, but some long EHLO and
/// policy texts exceed it, so the default is four times that: tolerant, and
/// still a small fixed bound on what a hostile server can make us hold.
public struct SMTPReplyLimits: Equatable, Sendable {
    /// Octets per line, CR LF included.
    public var maxLineLength: Int
    /// Lines per reply (an EHLO reply has one per extension).
    public var maxLines: Int
    /// Octets per reply, every CR LF included.
    public var maxReplyLength: Int

    public init(maxLineLength: Int = 2048, maxLines: Int = 100, maxReplyLength: Int = 16_384) {
        self.maxLineLength = maxLineLength
        self.maxLines = maxLines
        self.maxReplyLength = maxReplyLength
    }
}

/// Turns the bytes a server sends into complete replies, one at a time.
///
/// Only CR LF ends a line. A bare LF is refused rather than tolerated: RFC
/// 5321 §2.3.8 requires CR LF, every server worth delivering to sends it,
/// and a peer that frames its own replies loosely is not one to trust with
/// dot-stuffed content either. Bytes after a complete reply stay buffered
/// for the next call (pipelined replies arrive together); whether a reply
/// was asked for is the state machine's business.
///
/// Memory: input is consumed byte by byte into the current line, which the
/// limits bound, so after `nextReply()` has returned nil the parser holds at
/// most one unfinished reply. Call `nextReply()` until it returns nil after
/// each `append(_:)`.
public struct SMTPReplyParser: Sendable {
    public let limits: SMTPReplyLimits

    private var unread: [UInt8] = []
    private var readIndex = 0
    private var line: [UInt8] = []
    private var afterCR = false
    private var code: Int?
    private var lines: [String] = []
    private var replyLength = 0
    /// Set by the first error; the stream is out of step from then on.
    private var failure: SMTPReplyParseError?

    public init(limits: SMTPReplyLimits = SMTPReplyLimits()) {
        self.limits = limits
    }

    /// True while part of a reply, or input after the last complete reply,
    /// is held. After a STARTTLS 220 this must be false: anything the
    /// server sent in cleartext behind that reply must never be read as if
    /// it had come over TLS (the CVE-2011-0411 class, client side).
    public var hasBufferedInput: Bool {
        readIndex < unread.count || !line.isEmpty || afterCR || !lines.isEmpty
    }

    public mutating func append(_ bytes: some Collection<UInt8>) {
        guard failure == nil else { return }
        if readIndex > 0 {
            unread.removeSubrange(0..<readIndex)
            readIndex = 0
        }
        unread.append(contentsOf: bytes)
    }

    /// The next complete reply, or nil when the input ends inside one.
    /// After an error every later call throws the same error.
    public mutating func nextReply() throws(SMTPReplyParseError) -> SMTPReply? {
        if let failure { throw failure }
        do {
            while readIndex < unread.count {
                let byte = unread[readIndex]
                readIndex += 1
                if let reply = try consume(byte) { return reply }
            }
        } catch {
            failure = error
            unread = []
            readIndex = 0
            throw error
        }
        unread.removeAll(keepingCapacity: true)
        readIndex = 0
        return nil
    }

    private mutating func consume(_ byte: UInt8) throws(SMTPReplyParseError) -> SMTPReply? {
        replyLength += 1
        if replyLength > limits.maxReplyLength { throw .replyTooLong }
        if afterCR {
            guard byte == 0x0A else { throw .bareLineEnding }
            afterCR = false
            return try finishLine()
        }
        switch byte {
        case 0x0D:
            afterCR = true
        case 0x0A:
            throw .bareLineEnding
        case 0x09:
            try appendToLine(byte)
        case 0x00..<0x20, 0x7F:
            throw .controlCharacter(byte)
        default:
            try appendToLine(byte)
        }
        return nil
    }

    private mutating func appendToLine(_ byte: UInt8) throws(SMTPReplyParseError) {
        // + 2 for the CR LF still to come.
        guard line.count + 3 <= limits.maxLineLength else { throw .lineTooLong }
        line.append(byte)
    }

    private mutating func finishLine() throws(SMTPReplyParseError) -> SMTPReply? {
        guard line.count >= 3, line[0...2].allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { throw .malformedLine }
        let lineCode = Int(line[0] - 0x30) * 100 + Int(line[1] - 0x30) * 10 + Int(line[2] - 0x30)
        guard (2...5).contains(lineCode / 100), (lineCode / 10) % 10 <= 5 else { throw .invalidCode(lineCode) }
        let isLast: Bool
        if line.count == 3 {
            isLast = true
        } else if line[3] == 0x20 {
            isLast = true
        } else if line[3] == 0x2D {
            isLast = false
        } else {
            throw .malformedLine
        }
        if let code, code != lineCode { throw .inconsistentCode(expected: code, found: lineCode) }
        guard lines.count < limits.maxLines else { throw .tooManyLines }
        code = lineCode
        lines.append(Self.text(line.dropFirst(4)))
        line.removeAll(keepingCapacity: true)
        guard isLast else { return nil }
        let reply = SMTPReply(code: lineCode, serverLines: lines)
        code = nil
        lines = []
        replyLength = 0
        return reply
    }

    /// The line's text: UTF-8 as sent, or, when it is not valid UTF-8,
    /// with every non-ASCII byte as "?" — never U+FFFD, whose three octets
    /// per byte would let a line outgrow `maxLineLength` threefold.
    static func text(_ bytes: ArraySlice<UInt8>) -> String {
        String(validating: bytes, as: UTF8.self)
            ?? String(decoding: bytes.map { $0 < 0x80 ? $0 : UInt8(ascii: "?") }, as: UTF8.self)
    }
}
