/// Why the message on stdin was refused; the caller prints `description`
/// and exits with `SysExits.dataErr`.
public enum SubmissionReaderError: Error, Equatable, Sendable, CustomStringConvertible {
    case nul(line: Int)
    /// A CR not followed by LF: refused rather than guessed at, as the
    /// listener refuses it (a bare CR is one half of SMTP smuggling).
    case bareCarriageReturn(line: Int)
    /// More than `SubmissionReader.maxLineLength` octets before the line
    /// ending (RFC 5322 §2.1.1).
    case lineTooLong(line: Int)
    /// The canonical message (CR LF line endings) outgrew the limit.
    case messageTooLarge(limit: Int)
    case headerSectionTooLarge(limit: Int)

    public var description: String {
        switch self {
        case .nul(let line): return "line \(line): NUL byte in the message"
        case .bareCarriageReturn(let line): return "line \(line): carriage return not followed by a line feed"
        case .lineTooLong(let line):
            return "line \(line): longer than \(SubmissionReader.maxLineLength) characters"
        case .messageTooLarge(let limit): return "message larger than \(limit) bytes"
        case .headerSectionTooLarge(let limit): return "header section larger than \(limit) bytes"
        }
    }
}

/// Reads the message a program pipes into `sendmail`, chunk by chunk as it
/// arrives, and hands back its canonical form: CR LF line endings, a final
/// line ending added if it was missing, no dot-stuffing (this is not SMTP).
/// Memory is one line plus the header section, whatever the message size.
///
/// Lines end at LF, with or without a CR before it. Without `ignoreDots`
/// (-i, -oi) a line of a single "." ends the message and the rest of the
/// input is ignored, as in Sendmail. A leading Unix "From " line (mbox
/// envelope) is dropped, as Postfix does: it is not a header field and
/// would otherwise turn the whole header section into body.
///
/// The header section is tracked with `HeaderSection`'s rule: it ends at
/// an empty line, or at the first line that is neither a field nor a
/// continuation of one (that line is the body's first). It is bounded by
/// `maxHeaderSectionSize` (1 MiB by default: far above any real message,
/// whose headers are a few kilobytes, and small enough to hold).
public struct SubmissionReader: Sendable {
    /// RFC 5322 §2.1.1, excluding the line ending.
    public static let maxLineLength = 998
    public static let defaultMaxHeaderSectionSize = 1 << 20

    public let ignoreDots: Bool
    public let maxMessageSize: Int
    public let maxHeaderSectionSize: Int

    /// Canonical bytes handed out so far.
    public private(set) var size = 0
    /// True once a lone "." ended the message or `finish()` was called;
    /// input after that is ignored, so the caller may stop reading.
    public private(set) var isComplete = false
    /// The header section's fields, CR LF line endings, without the empty
    /// line that ends it.
    public private(set) var headerSection: [UInt8] = []
    /// Where the body starts in the canonical bytes, after the empty line
    /// if there was one (equal to `headerSection.count` when a non-field
    /// line ended the header section, which the writer of the final header
    /// then separates with an empty line). Nil until the header section
    /// has ended; after `finish()`, never nil.
    public private(set) var bodyOffset: Int?
    /// The number of the line being read, from 1, counting input lines.
    public private(set) var lineNumber = 1

    private var line: [UInt8] = []
    private var afterCR = false
    private var lastLineWasField = false
    private var failure: SubmissionReaderError?

    public init(
        ignoreDots: Bool, maxMessageSize: Int, maxHeaderSectionSize: Int = SubmissionReader.defaultMaxHeaderSectionSize
    ) {
        self.ignoreDots = ignoreDots
        self.maxMessageSize = maxMessageSize
        self.maxHeaderSectionSize = maxHeaderSectionSize
    }

    /// Reads one chunk of input.
    ///
    /// - Returns: the canonical bytes of the lines this chunk completed.
    /// - Throws: the first problem; every later call throws it again.
    public mutating func consume(_ chunk: some Sequence<UInt8>) throws(SubmissionReaderError) -> [UInt8] {
        if let failure { throw failure }
        var output: [UInt8] = []
        do {
            for byte in chunk {
                guard !isComplete else { break }
                try step(byte, &output)
            }
        } catch {
            failure = error
            throw error
        }
        return output
    }

    /// The end of the input: a last line without a line ending is taken
    /// as ending with one.
    public mutating func finish() throws(SubmissionReaderError) -> [UInt8] {
        if let failure { throw failure }
        var output: [UInt8] = []
        if !isComplete {
            do throws(SubmissionReaderError) {
                if afterCR { throw SubmissionReaderError.bareCarriageReturn(line: lineNumber) }
                if !line.isEmpty { try endLine(&output) }
            } catch {
                failure = error
                throw error
            }
        }
        isComplete = true
        if bodyOffset == nil { bodyOffset = size }
        return output
    }

    private mutating func step(_ byte: UInt8, _ output: inout [UInt8]) throws(SubmissionReaderError) {
        if afterCR {
            guard byte == Bytes.lf else { throw .bareCarriageReturn(line: lineNumber) }
            afterCR = false
            try endLine(&output)
            return
        }
        switch byte {
        case Bytes.lf:
            try endLine(&output)
        case Bytes.cr:
            afterCR = true
        case Bytes.nul:
            throw .nul(line: lineNumber)
        default:
            guard line.count < SubmissionReader.maxLineLength else { throw .lineTooLong(line: lineNumber) }
            line.append(byte)
        }
    }

    private mutating func endLine(_ output: inout [UInt8]) throws(SubmissionReaderError) {
        defer {
            line.removeAll(keepingCapacity: true)
            lineNumber += 1
        }
        if !ignoreDots && line == [Bytes.dot] {
            isComplete = true
            return
        }
        if lineNumber == 1 && line.starts(with: SubmissionReader.unixFromLine) { return }
        if bodyOffset == nil { try headerLine() }
        guard maxMessageSize - size >= line.count + 2 else { throw .messageTooLarge(limit: maxMessageSize) }
        output.append(contentsOf: line)
        output.append(contentsOf: Bytes.crlf)
        size += line.count + 2
        if bodyOffset == nil && line.isEmpty { bodyOffset = size }
    }

    /// Classifies a line while in the header section, keeping it if it
    /// belongs there.
    private mutating func headerLine() throws(SubmissionReaderError) {
        if line.isEmpty { return }  // The end; `endLine` records where the body starts.
        let isContinuation = lastLineWasField && Bytes.isBlank(line[0])
        guard isContinuation || HeaderSection.isFieldLine(line) else {
            bodyOffset = size
            return
        }
        guard maxHeaderSectionSize - headerSection.count >= line.count + 2 else {
            throw .headerSectionTooLarge(limit: maxHeaderSectionSize)
        }
        headerSection.append(contentsOf: line)
        headerSection.append(contentsOf: Bytes.crlf)
        lastLineWasField = true
    }

    static let unixFromLine = Array("From ".utf8)
}
