/// Splits the submit protocol's input into CR LF lines, bounded: a line
/// over `maxLineLength` (CR LF included) is an error at once, so a peer
/// cannot make the reader hold more. A CR or LF that is not part of CR LF,
/// or a NUL, is an error too.
public struct SubmitLineSplitter: Sendable {
    public let maxLineLength: Int
    private var line: [UInt8] = []
    private var afterCR = false

    public init(maxLineLength: Int = SubmitRequest.maxLineLength) {
        self.maxLineLength = maxLineLength
    }

    /// True when part of a line has been read.
    public var hasPartialLine: Bool { afterCR || !line.isEmpty }

    /// Reads up to the end of the first complete line.
    ///
    /// - Returns: how many bytes were consumed and the line without its
    ///   CR LF, or nil for the line if `bytes` ended first.
    public mutating func consume(
        _ bytes: ArraySlice<UInt8>
    ) throws(SubmitProtocolError) -> (consumed: Int, line: [UInt8]?) {
        var index = bytes.startIndex
        while index < bytes.endIndex {
            let byte = bytes[index]
            index += 1
            if afterCR {
                guard byte == Bytes.lf else { throw .bareLineEnding }
                afterCR = false
                defer { line = [] }
                return (index - bytes.startIndex, line)
            }
            switch byte {
            case Bytes.cr: afterCR = true
            case Bytes.lf, Bytes.nul: throw .bareLineEnding
            default:
                guard line.count + 3 <= maxLineLength else { throw .lineTooLong }
                line.append(byte)
            }
        }
        return (index - bytes.startIndex, nil)
    }
}
