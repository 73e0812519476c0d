/// What the remote server said it can do in its EHLO reply. Only the
/// extensions the client uses are kept; AUTH and anything unknown are
/// ignored, and a malformed line is skipped rather than guessed at, so a
/// hostile EHLO reply can at worst make the client use fewer extensions.
public struct ServerCapabilities: Equatable, Sendable {
    /// False after HELO: no ESMTP parameter may then be sent at all.
    public var esmtp = false
    public var pipelining = false
    /// SIZE was offered, so MAIL may carry SIZE= (RFC 1870).
    public var sizeOffered = false
    /// The declared maximum message size; nil when SIZE was not offered,
    /// came without a number, or said 0 (no fixed limit).
    public var sizeLimit: Int?
    public var eightBitMIME = false
    public var smtputf8 = false
    public var dsn = false
    public var chunking = false
    public var startTLS = false
    public var enhancedStatusCodes = false

    /// A server greeted with HELO, or one whose EHLO we have not seen.
    public static let none = ServerCapabilities()

    public init() {}

    /// Reads the lines after the first (which carries the server's name).
    public init(ehloReply reply: SMTPReply) {
        self.init(extensionLines: reply.lines.dropFirst())
    }

    /// `ehlo-line = ehlo-keyword *( SP ehlo-param )` (RFC 5321 §4.1.1.1).
    public init(extensionLines: some Sequence<String>) {
        esmtp = true
        for line in extensionLines {
            let words = Array(line.utf8).split(separator: 0x20, omittingEmptySubsequences: true)
            guard let keyword = words.first, Self.isKeyword(keyword) else { continue }
            let parameters = words.dropFirst()
            switch String(decoding: keyword, as: UTF8.self).uppercased() {
            case "PIPELINING": pipelining = true
            case "8BITMIME": eightBitMIME = true
            case "SMTPUTF8": smtputf8 = true
            case "DSN": dsn = true
            case "CHUNKING": chunking = true
            case "STARTTLS": startTLS = true
            case "ENHANCEDSTATUSCODES": enhancedStatusCodes = true
            case "SIZE": readSize(parameters)
            default: continue
            }
        }
    }

    /// `SIZE` alone, or `SIZE` and a decimal number of at most 20 digits
    /// (RFC 1870 §4); anything else leaves SIZE unused.
    private mutating func readSize(_ parameters: ArraySlice<ArraySlice<UInt8>>) {
        guard let value = parameters.first else {
            sizeOffered = true
            return
        }
        guard parameters.count == 1, value.count <= 20, value.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
            return
        }
        // A number too large for Int is no limit we could reach.
        let limit = Int(String(decoding: value, as: UTF8.self))
        sizeOffered = true
        sizeLimit = (limit ?? 0) > 0 ? limit : nil
    }

    /// `ehlo-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")`.
    private static func isKeyword(_ bytes: ArraySlice<UInt8>) -> Bool {
        guard let first = bytes.first, isAlphanumeric(first), bytes.count <= 64 else { return false }
        return bytes.allSatisfy { isAlphanumeric($0) || $0 == UInt8(ascii: "-") }
    }

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
    }
}
