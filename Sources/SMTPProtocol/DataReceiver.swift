/// The DATA phase, one byte at a time: finds the end-of-data marker, undoes
/// dot-stuffing (RFC 5321 §4.5.2), and notices what makes a message
/// unacceptable. Bytes are handed on as soon as they are known to be
/// content, so whatever the chunking of the input, memory stays O(1) and
/// the output is the same.
///
/// Only CR LF "." CR LF ends the data. A bare CR or LF is never a line end:
/// it marks the message for refusal, which closes the door on SMTP
/// smuggling (a later hop that accepts "\n.\r\n" would otherwise see a
/// second message we never checked).
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

    public let maxMessageSize: Int
    public let maxReceivedHeaders: Int

    private var state = State.lineStart
    private var hops = ReceivedHeaderCounter()
    /// Unstuffed message bytes seen, written or not.
    public private(set) var contentSize = 0
    public private(set) var sawBareLineEnding = false
    public private(set) var sawNUL = false
    public private(set) var isComplete = false

    public init(maxMessageSize: Int, maxReceivedHeaders: Int) {
        self.maxMessageSize = maxMessageSize
        self.maxReceivedHeaders = maxReceivedHeaders
    }

    public var sizeExceeded: Bool { contentSize > maxMessageSize }
    public var receivedHeaderCount: Int { hops.count }
    public var tooManyHops: Bool { hops.count > maxReceivedHeaders }

    /// Once the message is certain to be refused, nothing more is written:
    /// reading continues only to find the end of the data.
    public var isDoomed: Bool { sawBareLineEnding || sawNUL || sizeExceeded || tooManyHops }

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

    private mutating func step(_ byte: UInt8, _ output: inout [UInt8]) {
        if byte == ASCII.nul { sawNUL = true }
        switch state {
        case .lineStart:
            if byte == ASCII.dot {
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
                sawBareLineEnding = true
                emit(ASCII.cr, &output)
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
                sawBareLineEnding = true
                emit(ASCII.cr, &output)
                inLine(byte, &output)
            }
        }
    }

    private mutating func inLine(_ byte: UInt8, _ output: inout [UInt8]) {
        switch byte {
        case ASCII.cr:
            state = .cr
        case ASCII.lf:
            sawBareLineEnding = true
            emit(byte, &output)
            state = .inLine
        default:
            emit(byte, &output)
            state = .inLine
        }
    }

    private mutating func emit(_ byte: UInt8, _ output: inout [UInt8]) {
        contentSize += 1
        hops.feed(byte)
        if !isDoomed { output.append(byte) }
    }
}
