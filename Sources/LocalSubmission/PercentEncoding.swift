/// The drop file's value encoding: every byte outside printable ASCII,
/// and "%" itself, as "%" and two uppercase hex digits. Space is encoded
/// too, so a value is one word and "key value" splits at the one space.
enum PercentEncoding {
    static func encode(_ text: String) -> String {
        var out: [UInt8] = []
        for byte in text.utf8 {
            if Bytes.isPrintable(byte) && byte != Bytes.percent {
                out.append(byte)
            } else {
                out += [Bytes.percent, upperHex(byte >> 4), upperHex(byte & 0x0F)]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Strict: only the canonical encoding `encode` produces is accepted
    /// (uppercase hex, nothing encoded that need not be), and the result
    /// must be UTF-8; so one value has exactly one spelling.
    static func decode(_ bytes: ArraySlice<UInt8>) -> String? {
        var out: [UInt8] = []
        var index = bytes.startIndex
        while index < bytes.endIndex {
            let byte = bytes[index]
            if byte == Bytes.percent {
                guard bytes.endIndex - index >= 3, let high = hexValue(bytes[index + 1]),
                    let low = hexValue(bytes[index + 2])
                else { return nil }
                let decoded = high << 4 | low
                guard !Bytes.isPrintable(decoded) || decoded == Bytes.percent else { return nil }
                out.append(decoded)
                index += 3
            } else {
                guard Bytes.isPrintable(byte) else { return nil }
                out.append(byte)
                index += 1
            }
        }
        return String(validating: out, as: UTF8.self)
    }

    private static func upperHex(_ value: UInt8) -> UInt8 { value < 10 ? 0x30 + value : 0x41 + value - 10 }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x30...0x39: return byte - 0x30
        case 0x41...0x46: return byte - 0x41 + 10
        default: return nil
        }
    }
}
