/// RFC 4648 base64 as SMTP AUTH uses it (RFC 4954 §4): the standard
/// alphabet with padding, no line breaks, no blanks. Decoding is strict —
/// a wrong length, a character outside the alphabet, padding in the middle
/// or non-zero bits after the last character are refused — so that one
/// string has exactly one meaning here and at the password check.
public enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    private static let values: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (index, byte) in alphabet.enumerated() { table[Int(byte)] = UInt8(index) }
        return table
    }()

    public static func encode(_ bytes: some Collection<UInt8>) -> String {
        let input = Array(bytes)
        var output: [UInt8] = []
        output.reserveCapacity((input.count + 2) / 3 * 4)
        var index = 0
        while index < input.count {
            let b0 = input[index]
            let b1 = index + 1 < input.count ? input[index + 1] : 0
            let b2 = index + 2 < input.count ? input[index + 2] : 0
            output.append(alphabet[Int(b0 >> 2)])
            output.append(alphabet[Int((b0 & 0x03) << 4 | b1 >> 4)])
            output.append(index + 1 < input.count ? alphabet[Int((b1 & 0x0F) << 2 | b2 >> 6)] : ASCII.equals)
            output.append(index + 2 < input.count ? alphabet[Int(b2 & 0x3F)] : ASCII.equals)
            index += 3
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// nil for anything that is not canonical base64.
    public static func decode(_ text: some Collection<UInt8>) -> [UInt8]? {
        let input = Array(text)
        guard input.count % 4 == 0 else { return nil }
        var output: [UInt8] = []
        output.reserveCapacity(input.count / 4 * 3)
        var index = 0
        while index < input.count {
            let last = index + 4 == input.count
            let quad = input[index..<(index + 4)]
            let padding = quad.reversed().prefix { $0 == ASCII.equals }.count
            guard padding <= 2, padding == 0 || last else { return nil }
            var bits: UInt32 = 0
            for byte in quad.prefix(4 - padding) {
                let value = values[Int(byte)]
                guard value != 0xFF else { return nil }
                bits = bits << 6 | UInt32(value)
            }
            bits <<= UInt32(6 * padding)
            let decoded = [UInt8(bits >> 16 & 0xFF), UInt8(bits >> 8 & 0xFF), UInt8(bits & 0xFF)]
            // The bits past the last full byte must be zero (RFC 4648 §3.5).
            if padding > 0 && decoded[3 - padding..<3].contains(where: { $0 != 0 }) { return nil }
            output.append(contentsOf: decoded.prefix(3 - padding))
            index += 4
        }
        return output
    }
}
