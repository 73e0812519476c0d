/// UTF-8 as RFC 6531 lets it into an envelope (`UTF8-non-ascii`, RFC 3629
/// §4): only well-formed sequences. Overlong forms, surrogates and values
/// past U+10FFFF are refused, because each is a classic way to make two
/// parsers disagree about what an address says. C1 controls (U+0080 to
/// U+009F) are refused too, for the same reason ASCII controls are.
enum UTF8Syntax {
    /// The length of the well-formed non-ASCII scalar starting at `index`,
    /// or nil if the bytes there are not one.
    static func scalarLength(_ bytes: ArraySlice<UInt8>, at index: Int) -> Int? {
        guard index < bytes.endIndex else { return nil }
        let lead = bytes[index]
        let length: Int
        var secondRange: ClosedRange<UInt8> = 0x80...0xBF
        switch lead {
        case 0xC2:
            length = 2
            secondRange = 0xA0...0xBF  // U+0080..U+009F are C1 controls
        case 0xC3...0xDF:
            length = 2
        case 0xE0:
            length = 3
            secondRange = 0xA0...0xBF  // no overlong forms
        case 0xE1...0xEC, 0xEE...0xEF:
            length = 3
        case 0xED:
            length = 3
            secondRange = 0x80...0x9F  // no surrogates
        case 0xF0:
            length = 4
            secondRange = 0x90...0xBF
        case 0xF1...0xF3:
            length = 4
        case 0xF4:
            length = 4
            secondRange = 0x80...0x8F  // nothing past U+10FFFF
        default:
            return nil
        }
        guard bytes.endIndex - index >= length, secondRange.contains(bytes[index + 1]) else { return nil }
        for offset in 2..<length where !(0x80...0xBF).contains(bytes[index + offset]) {
            return nil
        }
        return length
    }

    /// True when every non-ASCII byte belongs to a well-formed scalar.
    static func isWellFormed(_ bytes: ArraySlice<UInt8>) -> Bool {
        var index = bytes.startIndex
        while index < bytes.endIndex {
            if bytes[index] < 0x80 {
                index += 1
            } else {
                guard let length = scalarLength(bytes, at: index) else { return false }
                index += length
            }
        }
        return true
    }
}
