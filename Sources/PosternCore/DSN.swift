/// RFC 3461 delivery status notification requests, kept with the envelope
/// so the queue can honour them when it bounces or reports.
public enum DSNReturn: String, Sendable, Equatable {
    /// RET=FULL: return the whole message in a bounce.
    case full
    /// RET=HDRS: return only its headers.
    case headers = "hdrs"
}

/// BODY= of MAIL (RFC 6152): what the relay may send the message as.
public enum MessageBodyType: String, Sendable, Equatable {
    case sevenBit = "7bit"
    case eightBitMIME = "8bitmime"
}

/// NOTIFY= of one recipient; empty when the client gave none (the queue then
/// applies the default: failures and delays).
public struct DSNNotify: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let never = DSNNotify(rawValue: 1)
    public static let success = DSNNotify(rawValue: 2)
    public static let failure = DSNNotify(rawValue: 4)
    public static let delay = DSNNotify(rawValue: 8)

    /// The control file's spelling: `never`, or a comma list, or `-` for none.
    public var word: String {
        if isEmpty { return "-" }
        var names: [String] = []
        if contains(.never) { names.append("never") }
        if contains(.success) { names.append("success") }
        if contains(.failure) { names.append("failure") }
        if contains(.delay) { names.append("delay") }
        return names.joined(separator: ",")
    }

    /// Parses `word`; nil for anything else, including NEVER combined with
    /// another keyword (RFC 3461 §4.1).
    public init?(word: String) {
        if word == "-" {
            self = []
            return
        }
        var set: DSNNotify = []
        for part in word.split(separator: ",", omittingEmptySubsequences: false) {
            switch part {
            case "never": set.insert(.never)
            case "success": set.insert(.success)
            case "failure": set.insert(.failure)
            case "delay": set.insert(.delay)
            default: return nil
            }
        }
        if set.contains(.never) && set != .never { return nil }
        self = set
    }
}
