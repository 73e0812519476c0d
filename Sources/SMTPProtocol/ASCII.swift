/// Byte-level character classes. The protocol is defined over octets, not
/// Unicode scalars, so parsing works on `UInt8` and never on `String`: a
/// `String` would silently merge CR LF into one grapheme and hide the very
/// bytes the smuggling checks look for.
enum ASCII {
    static let nul: UInt8 = 0x00
    static let tab: UInt8 = 0x09
    static let lf: UInt8 = 0x0A
    static let cr: UInt8 = 0x0D
    static let space: UInt8 = 0x20
    static let quote: UInt8 = 0x22
    static let plus: UInt8 = 0x2B
    static let comma: UInt8 = 0x2C
    static let hyphen: UInt8 = 0x2D
    static let dot: UInt8 = 0x2E
    static let colon: UInt8 = 0x3A
    static let semicolon: UInt8 = 0x3B
    static let lessThan: UInt8 = 0x3C
    static let equals: UInt8 = 0x3D
    static let greaterThan: UInt8 = 0x3E
    static let at: UInt8 = 0x40
    static let leftBracket: UInt8 = 0x5B
    static let backslash: UInt8 = 0x5C
    static let rightBracket: UInt8 = 0x5D
    static let underscore: UInt8 = 0x5F
    static let delete: UInt8 = 0x7F

    static let crlf: [UInt8] = [cr, lf]

    static func isAlpha(_ byte: UInt8) -> Bool {
        (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
    }

    static func isDigit(_ byte: UInt8) -> Bool {
        byte >= 0x30 && byte <= 0x39
    }

    static func isHexDigit(_ byte: UInt8) -> Bool {
        isDigit(byte) || (byte >= 0x41 && byte <= 0x46) || (byte >= 0x61 && byte <= 0x66)
    }

    static func isAlphanumeric(_ byte: UInt8) -> Bool {
        isAlpha(byte) || isDigit(byte)
    }

    /// Controls are refused in every protocol element, not just CR and LF: a
    /// stray byte such as ESC or DEL has no legitimate use in an envelope and
    /// can upset terminals and log readers downstream.
    static func isControl(_ byte: UInt8) -> Bool {
        byte < space || byte == delete
    }

    static func isPrintable(_ byte: UInt8) -> Bool {
        byte > space && byte < delete
    }

    /// RFC 5234 WSP: the blanks that fold a header line.
    static func isBlank(_ byte: UInt8) -> Bool {
        byte == space || byte == tab
    }

    /// RFC 5322 `atext`.
    static func isAtext(_ byte: UInt8) -> Bool {
        if isAlphanumeric(byte) { return true }
        switch byte {
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"),
            UInt8(ascii: "'"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "/"),
            UInt8(ascii: "="), UInt8(ascii: "?"), UInt8(ascii: "^"), UInt8(ascii: "_"), UInt8(ascii: "`"),
            UInt8(ascii: "{"), UInt8(ascii: "|"), UInt8(ascii: "}"), UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }

    static func uppercased(_ byte: UInt8) -> UInt8 {
        (byte >= 0x61 && byte <= 0x7A) ? byte - 0x20 : byte
    }

    static func lowercased(_ byte: UInt8) -> UInt8 {
        (byte >= 0x41 && byte <= 0x5A) ? byte + 0x20 : byte
    }

    /// Compares against an uppercase ASCII keyword, because SMTP verbs and
    /// parameter names are case-insensitive (RFC 5321 §2.4).
    static func equalsIgnoringCase(_ bytes: some Collection<UInt8>, _ upperKeyword: String) -> Bool {
        let keyword = upperKeyword.utf8
        guard bytes.count == keyword.count else { return false }
        return zip(bytes, keyword).allSatisfy { uppercased($0) == $1 }
    }

    /// Only called on bytes already checked to be printable ASCII, so the
    /// decoding never substitutes a replacement character.
    static func string(_ bytes: some Collection<UInt8>) -> String {
        String(decoding: bytes, as: UTF8.self)
    }
}
