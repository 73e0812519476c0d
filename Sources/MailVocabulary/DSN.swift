/// RFC 3461 RET: how much of a message a bounce returns. The raw value is
/// the control file's and IPC's spelling; `keyword` is SMTP's.
public enum DSNReturn: String, Sendable, Equatable {
    /// RET=FULL: return the whole message in a bounce.
    case full
    /// RET=HDRS: return only its headers.
    case headers = "hdrs"

    public var keyword: String { self == .full ? "FULL" : "HDRS" }

    /// RET='s value, in any case.
    public init?(keyword: String) {
        switch keyword.uppercased() {
        case "FULL": self = .full
        case "HDRS": self = .headers
        default: return nil
        }
    }
}

/// BODY= of MAIL (RFC 6152): what the client says the body contains, so
/// that the relay can tell whether an 8-bit message needs a server that
/// takes 8BITMIME. The raw value is the control file's spelling.
public enum MessageBodyType: String, Sendable, Equatable {
    case sevenBit = "7bit"
    case eightBitMIME = "8bitmime"

    public var keyword: String { self == .eightBitMIME ? "8BITMIME" : "7BIT" }
}

/// RFC 3461 NOTIFY= of one recipient: when the sender wants a report. Empty
/// when the client gave none (the queue then applies the default: failures
/// and delays); `never` only ever appears alone.
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

    /// One of SMTP's NOTIFY keywords (NEVER, SUCCESS, FAILURE, DELAY), in
    /// any case.
    public init?(keyword: String) {
        switch keyword.uppercased() {
        case "NEVER": self = .never
        case "SUCCESS": self = .success
        case "FAILURE": self = .failure
        case "DELAY": self = .delay
        default: return nil
        }
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
