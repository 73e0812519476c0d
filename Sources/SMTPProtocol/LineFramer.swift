/// Why a command line was refused. The framer reports the problem only when
/// the line's CRLF arrives, so one bad line costs exactly one reply and the
/// session stays in step with the client.
public enum LineFramerError: Error, Equatable, Sendable {
    /// More than the line limit before CRLF; the excess was discarded.
    case lineTooLong
    /// A CR not followed by LF, or an LF not preceded by CR.
    case bareLineEnding
    case nul
}

/// Splits command input into lines. Only CR LF ends a line: treating a bare
/// LF as a terminator is exactly the disagreement SMTP smuggling exploits,
/// so a bare CR or LF is remembered and the line refused when its real CRLF
/// comes. Memory is bounded by `maxLineLength` whatever the client sends.
public struct LineFramer: Sendable {
    /// The RFC 5321 §4.5.3.1.4 limit, counting the CRLF.
    public let maxLineLength: Int

    private var line: [UInt8] = []
    private var afterCR = false
    private var tooLong = false
    private var sawBareLineEnding = false
    private var sawNUL = false

    public init(maxLineLength: Int) {
        self.maxLineLength = maxLineLength
    }

    /// True when part of a line has been read and its CRLF has not.
    public var hasPartialLine: Bool {
        afterCR || tooLong || sawBareLineEnding || sawNUL || !line.isEmpty
    }

    /// Reads up to and including the first CRLF and stops there, so that
    /// the caller can act on one line before deciding whether to read on
    /// (it may need to wait for an asynchronous answer first).
    ///
    /// - Returns: how many bytes were consumed, and the line (without its
    ///   CRLF) or its error if a CRLF was reached.
    public mutating func consume(
        _ bytes: ArraySlice<UInt8>
    ) -> (consumed: Int, line: Result<[UInt8], LineFramerError>?) {
        var index = bytes.startIndex
        while index < bytes.endIndex {
            let byte = bytes[index]
            index += 1
            if afterCR {
                afterCR = false
                if byte == ASCII.lf {
                    return (index - bytes.startIndex, finishLine())
                }
                sawBareLineEnding = true
            }
            switch byte {
            case ASCII.cr:
                afterCR = true
            case ASCII.lf:
                sawBareLineEnding = true
            default:
                if byte == ASCII.nul { sawNUL = true }
                append(byte)
            }
        }
        return (index - bytes.startIndex, nil)
    }

    private mutating func append(_ byte: UInt8) {
        guard !tooLong else { return }
        if line.count + 1 + ASCII.crlf.count > maxLineLength {
            tooLong = true
            line.removeAll(keepingCapacity: true)
        } else {
            line.append(byte)
        }
    }

    private mutating func finishLine() -> Result<[UInt8], LineFramerError> {
        let result: Result<[UInt8], LineFramerError>
        if tooLong {
            result = .failure(.lineTooLong)
        } else if sawBareLineEnding {
            result = .failure(.bareLineEnding)
        } else if sawNUL {
            result = .failure(.nul)
        } else {
            result = .success(line)
        }
        line = []
        tooLong = false
        sawBareLineEnding = false
        sawNUL = false
        return result
    }
}
