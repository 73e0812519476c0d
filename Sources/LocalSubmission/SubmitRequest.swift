/// A request from the `sendmail` command to the daemon's submit process,
/// one line over a Unix stream socket: `SUBMIT <dropname>`, `VERIFY
/// <address>`, `CHECK <address>`, `QUIT`, each ending in CR LF, at most
/// `maxLineLength` bytes with it. The verbs are uppercase and followed by
/// exactly one space and the argument; nothing else is accepted, because
/// the server runs with privileges the client lacks.
public enum SubmitRequest: Equatable, Sendable {
    /// Take the drop file of this name (it must be complete, mode 0644).
    case submit(DropFileName)
    /// -bv: say whether the address is deliverable; send nothing.
    case verify(String)
    /// Whether the daemon would accept this recipient now (for -bs and
    /// -odi callers that want an early answer).
    case check(String)
    case quit

    /// RFC 5321's command line limit, CR LF included.
    public static let maxLineLength = 1_000

    /// The request on the wire, CR LF included. An address that would not
    /// parse back (a control character, too long) makes nil.
    public var encoded: [UInt8]? {
        let line: String
        switch self {
        case .submit(let name): line = "SUBMIT \(name)"
        case .verify(let address): line = "VERIFY \(address)"
        case .check(let address): line = "CHECK \(address)"
        case .quit: line = "QUIT"
        }
        let bytes = Array(line.utf8) + Bytes.crlf
        guard bytes.count <= SubmitRequest.maxLineLength, (try? SubmitRequest.parse(line: Array(line.utf8))) == self
        else { return nil }
        return bytes
    }

    /// Parses one request line, without its CR LF.
    public static func parse(line: [UInt8]) throws(SubmitProtocolError) -> SubmitRequest {
        guard line.count + 2 <= maxLineLength else { throw .lineTooLong }
        guard line != Array("QUIT".utf8) else { return .quit }
        guard let space = line.firstIndex(of: Bytes.space) else { throw .unknownRequest }
        let verb = String(decoding: line[..<space], as: UTF8.self)
        let argument = line[(space + 1)...]
        switch verb {
        case "SUBMIT":
            guard let name = DropFileName(String(decoding: argument, as: UTF8.self)) else {
                throw .invalidArgument
            }
            return .submit(name)
        case "VERIFY": return .verify(try address(argument))
        case "CHECK": return .check(try address(argument))
        default: throw .unknownRequest
        }
    }

    /// Non-empty UTF-8 with no control characters and no blank at either
    /// end (a quoted local part may hold spaces inside).
    private static func address(_ bytes: ArraySlice<UInt8>) throws(SubmitProtocolError) -> String {
        guard let first = bytes.first, let last = bytes.last, !Bytes.isBlank(first), !Bytes.isBlank(last),
            let text = String(validating: bytes, as: UTF8.self), Bytes.hasNoControls(text)
        else { throw .invalidArgument }
        return text
    }
}

/// Why a request line or a reply was refused. The server answers a bad
/// request with 500 or 501 and goes on; the client gives up on a bad reply.
public enum SubmitProtocolError: Error, Equatable, Sendable {
    case lineTooLong
    /// A CR or LF alone, or a NUL.
    case bareLineEnding
    case unknownRequest
    case invalidArgument
    /// Not `ddd`, `ddd-text` or `ddd text` with a 2xx, 4xx or 5xx code.
    case malformedReply
    /// A continuation line whose code differs from the first line's.
    case inconsistentReplyCode
    case tooManyReplyLines
}
