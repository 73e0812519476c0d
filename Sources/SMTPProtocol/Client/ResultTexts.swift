/// The wording of delivery results and session failures. Everything the
/// server said is reduced to printable ASCII and bounded before it is
/// quoted, because these texts go into the queue's control file, the log
/// and bounce messages.
struct ResultTexts: Sendable {
    /// How much of a server's reply text is quoted.
    static let maxQuotedLength = 400

    /// "mx.example.test[192.0.2.25]".
    let host: String

    init(remoteName: String, remoteAddress: String) {
        host =
            Self.printable(remoteName, limit: 255) + "["
            + Self.printable(remoteAddress, limit: 64) + "]"
    }

    /// "host H said: 550 5.1.1 no such user (in reply to RCPT TO)".
    func said(_ reply: SMTPReply, inReplyTo command: String?) -> String {
        var text = "host \(host) said: \(Self.quoted(reply))"
        if let command { text += " (in reply to \(command))" }
        return text
    }

    func refusedToTalk(_ reply: SMTPReply) -> String {
        "host \(host) refused to talk to me: \(Self.quoted(reply))"
    }

    /// The reply as "550 5.1.1 text", lines joined by spaces.
    static func quoted(_ reply: SMTPReply) -> String {
        let text = printable(reply.lines.filter { !$0.isEmpty }.joined(separator: " "), limit: maxQuotedLength)
        return text.isEmpty ? String(reply.code) : "\(reply.code) \(text)"
    }

    /// Printable ASCII and spaces only: a TAB becomes a space, anything else
    /// outside that range "?". Cut at `limit` characters, marked with "...".
    static func printable(_ text: String, limit: Int) -> String {
        var out: [UInt8] = []
        for scalar in text.unicodeScalars {
            // One byte per scalar: stop once the cut is certain.
            if out.count > limit { break }
            switch scalar.value {
            case 0x09: out.append(0x20)
            case 0x20..<0x7F: out.append(UInt8(scalar.value))
            default: out.append(UInt8(ascii: "?"))
            }
        }
        if out.count > limit { out = Array(out.prefix(max(0, limit - 3))) + Array("...".utf8) }
        return String(decoding: out, as: UTF8.self)
    }

    /// The reply's enhanced code with the class `disposition` needs: a 5xx
    /// greeting that only defers becomes 4.x.x, and a reply without a code
    /// gets the generic one.
    static func status(for reply: SMTPReply, as disposition: RecipientDisposition) -> String {
        let statusClass: String
        switch disposition {
        case .delivered: statusClass = "2"
        case .deferred: statusClass = "4"
        case .failed: statusClass = "5"
        }
        guard let enhanced = reply.enhancedStatus else { return statusClass + ".0.0" }
        return statusClass + enhanced.dropFirst()
    }

    /// 2xx delivered, 4xx deferred, 5xx failed.
    static func disposition(of reply: SMTPReply) -> RecipientDisposition {
        if reply.isPositive { return .delivered }
        return reply.isPermanentFailure ? .failed : .deferred
    }
}
