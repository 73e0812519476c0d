/// The bytes this module needs by name. Parsing works on octets, not on
/// `String`: a `String` merges CR LF into one grapheme and would hide the
/// very bytes the checks look for.
enum Bytes {
    static let nul: UInt8 = 0x00
    static let tab: UInt8 = 0x09
    static let lf: UInt8 = 0x0A
    static let cr: UInt8 = 0x0D
    static let space: UInt8 = 0x20
    static let quote: UInt8 = 0x22
    static let percent: UInt8 = 0x25
    static let leftParen: UInt8 = 0x28
    static let rightParen: UInt8 = 0x29
    static let comma: UInt8 = 0x2C
    static let dot: UInt8 = 0x2E
    static let colon: UInt8 = 0x3A
    static let semicolon: UInt8 = 0x3B
    static let lessThan: UInt8 = 0x3C
    static let greaterThan: UInt8 = 0x3E
    static let at: UInt8 = 0x40
    static let leftBracket: UInt8 = 0x5B
    static let backslash: UInt8 = 0x5C
    static let rightBracket: UInt8 = 0x5D
    static let delete: UInt8 = 0x7F

    static let crlf: [UInt8] = [cr, lf]

    static func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }

    /// SP and HTAB, the blanks that fold a header line.
    static func isBlank(_ byte: UInt8) -> Bool { byte == space || byte == tab }

    /// Printable US-ASCII, space excluded.
    static func isPrintable(_ byte: UInt8) -> Bool { byte > space && byte < delete }

    static func isControl(_ byte: UInt8) -> Bool { byte < space || byte == delete }

    /// RFC 5322 `ftext`: what a field name is made of.
    static func isFieldNameByte(_ byte: UInt8) -> Bool { isPrintable(byte) && byte != colon }

    static func lowercased(_ byte: UInt8) -> UInt8 { (byte >= 0x41 && byte <= 0x5A) ? byte + 0x20 : byte }

    static func lowercased(_ bytes: some Sequence<UInt8>) -> String {
        String(decoding: bytes.map(lowercased), as: UTF8.self)
    }

    /// Two lowercase hex digits a byte.
    static func lowercaseHex(_ bytes: [UInt8]) -> String {
        func digit(_ value: UInt8) -> UInt8 { value < 10 ? 0x30 + value : 0x61 + value - 10 }
        return String(decoding: bytes.flatMap { [digit($0 >> 4), digit($0 & 0x0F)] }, as: UTF8.self)
    }

    /// True for a `String` free of control characters (CR, LF, NUL and the
    /// rest): what may go into a header line or an envelope value.
    static func hasNoControls(_ text: String) -> Bool {
        text.unicodeScalars.allSatisfy { $0.value >= 0x20 && $0.value != 0x7F && !(0x80...0x9F).contains($0.value) }
    }
}
