/// The transfer decoding of message content, one byte at a time. For DATA
/// it finds the end-of-data marker and undoes dot-stuffing (RFC 5321
/// §4.5.2); for BDAT chunks (`dotStuffed: false`) the content is taken as
/// it is and the chunk sizes end it. In both it notices bare line endings
/// and NUL, so that the two commands refuse exactly the same messages: a
/// check only DATA made would be a smuggling path through BDAT.
/// Bytes are handed on as soon as they are known to be content, so whatever
/// the chunking of the input, memory stays O(1) and the output is the same.
/// Size, hop count and header syntax are the next stage's business
/// (`MessageAssembler`), shared with BDAT.
///
/// Only CR LF "." CR LF ends the data. A bare CR or LF is never a line end,
/// and never puts the receiver at the start of a line: with the default
/// policy it marks the message for refusal, which closes the door on SMTP
/// smuggling (a later hop that accepts "\n.\r\n" would otherwise see a
/// second message we never checked); with `.normalize` it is stored as
/// CR LF, but "\n.\r\n" still does not end the data.
public struct DataReceiver: Sendable {
    private enum State {
        /// At the start of a line (the DATA command's CRLF counts).
        case lineStart
        /// A "." at the start of a line, held back until we know whether it
        /// is the terminator or a stuffed dot to remove.
        case dot
        /// "." CR at the start of a line: the terminator if LF follows.
        case dotCR
        case inLine
        /// A CR inside a line, held back until we know whether LF follows.
        case cr
    }

    public let bareLineEndings: BareLineEndings
    /// DATA's dot-stuffing and terminator; false for BDAT.
    public let dotStuffed: Bool

    private var state = State.lineStart
    /// Unstuffed (and, when normalizing, converted) message bytes seen,
    /// output or not.
    public private(set) var contentSize = 0
    /// Set in both policies; only `.reject` refuses the message for it.
    public private(set) var sawBareLineEnding = false
    public private(set) var sawNUL = false
    public private(set) var isComplete = false

    public init(bareLineEndings: BareLineEndings = .reject, dotStuffed: Bool = true) {
        self.bareLineEndings = bareLineEndings
        self.dotStuffed = dotStuffed
    }

    /// Once the message is certain to be refused, nothing more is output:
    /// reading continues only to find the end of the data.
    public var isDoomed: Bool { sawNUL || (sawBareLineEnding && bareLineEndings == .reject) }

    /// Reads until the end-of-data marker (consumed, not output) or the end
    /// of `input`, appending message bytes to `output`.
    ///
    /// - Returns: how many bytes of `input` were consumed; anything after
    ///   the marker is left for the command parser.
    public mutating func consume(_ input: ArraySlice<UInt8>, into output: inout [UInt8]) -> Int {
        var index = input.startIndex
        while index < input.endIndex && !isComplete {
            step(input[index], &output)
            index += 1
        }
        return index - input.startIndex
    }

    /// The end of BDAT content: a CR held back at the very end was bare.
    /// (DATA ends only at its terminator, never with a CR held.)
    public mutating func finish(into output: inout [UInt8]) {
        if case .cr = state {
            bareLineEnding(ASCII.cr, &output)
            state = .inLine
        }
        isComplete = true
    }

    private mutating func step(_ byte: UInt8, _ output: inout [UInt8]) {
        if byte == ASCII.nul { sawNUL = true }
        switch state {
        case .lineStart:
            if byte == ASCII.dot && dotStuffed {
                state = .dot
            } else {
                inLine(byte, &output)
            }
        case .dot:
            // Any byte but CR after a leading dot means the dot was stuffing.
            if byte == ASCII.cr {
                state = .dotCR
            } else {
                inLine(byte, &output)
            }
        case .dotCR:
            if byte == ASCII.lf {
                isComplete = true
            } else {
                bareLineEnding(ASCII.cr, &output)
                inLine(byte, &output)
            }
        case .inLine:
            inLine(byte, &output)
        case .cr:
            if byte == ASCII.lf {
                emit(ASCII.cr, &output)
                emit(ASCII.lf, &output)
                state = .lineStart
            } else {
                bareLineEnding(ASCII.cr, &output)
                inLine(byte, &output)
            }
        }
    }

    private mutating func inLine(_ byte: UInt8, _ output: inout [UInt8]) {
        switch byte {
        case ASCII.cr:
            state = .cr
        case ASCII.lf:
            bareLineEnding(byte, &output)
            state = .inLine
        default:
            emit(byte, &output)
            state = .inLine
        }
    }

    /// The caller leaves the state "in a line" afterwards, never "at the
    /// start of a line": that is what keeps "\n.\r\n" from ending the data
    /// when normalizing.
    private mutating func bareLineEnding(_ byte: UInt8, _ output: inout [UInt8]) {
        sawBareLineEnding = true
        switch bareLineEndings {
        case .reject:
            emit(byte, &output)
        case .normalize:
            emit(ASCII.cr, &output)
            emit(ASCII.lf, &output)
        }
    }

    private mutating func emit(_ byte: UInt8, _ output: inout [UInt8]) {
        contentSize += 1
        if !isDoomed { output.append(byte) }
    }
}
