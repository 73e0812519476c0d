/// One SMTP reply, possibly multi-line. It conforms to `Error` so that a
/// failed commit can carry the exact reply the client should see.
public struct SMTPReply: Equatable, Sendable, Error, CustomStringConvertible {
    public var code: Int
    /// The RFC 3463 enhanced status code, e.g. "2.1.0". Empty for the
    /// greeting and the HELO/EHLO replies, which RFC 2034 §3 exempts.
    public var enhanced: String
    /// The text of the first line.
    public var text: String
    /// Lines after the first, for replies such as EHLO's keyword list.
    public var additionalLines: [String]

    public init(code: Int, enhanced: String, text: String, additionalLines: [String] = []) {
        self.code = code
        self.enhanced = enhanced
        self.text = text
        self.additionalLines = additionalLines
    }

    public var lines: [String] { [text] + additionalLines }

    /// Transient (4xx) and permanent (5xx) failures: what the error limit counts.
    public var isFailure: Bool { code >= 400 }

    /// The reply as it goes on the wire. Text is sanitised here, not at every
    /// call site: a reply may quote something that came from configuration
    /// or another process, and no byte it carries may end the line early.
    public var rendered: [UInt8] {
        var out: [UInt8] = []
        let all = lines
        for (index, line) in all.enumerated() {
            out.append(contentsOf: String(code).utf8)
            let body = Self.sanitised(line)
            let isLast = index == all.count - 1
            // RFC 4954 §4: a challenge is "334" SP base64, even when empty.
            if body.isEmpty && enhanced.isEmpty && code != 334 {
                if !isLast { out.append(ASCII.hyphen) }
            } else {
                out.append(isLast ? ASCII.space : ASCII.hyphen)
                if !enhanced.isEmpty {
                    out.append(contentsOf: Self.sanitised(enhanced))
                    if !body.isEmpty { out.append(ASCII.space) }
                }
                out.append(contentsOf: body)
            }
            out.append(contentsOf: ASCII.crlf)
        }
        return out
    }

    public var description: String { String(decoding: rendered, as: UTF8.self) }

    /// RFC 5321's textstring is HT, SP and printable US-ASCII; anything else
    /// becomes "?" so that the reply stays one well-formed line.
    static func sanitised(_ text: String) -> [UInt8] {
        text.utf8.map { byte in
            (byte == ASCII.tab || byte == ASCII.space || ASCII.isPrintable(byte)) ? byte : 0x3F
        }
    }
}
