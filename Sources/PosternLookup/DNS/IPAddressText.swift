import Glibc

/// IP literals as the kernel reads them. Used for server addresses, reverse
/// names and the A/AAAA answers we hand back as text.
enum IPAddressText {
    /// Four bytes for IPv4, sixteen for IPv6; nil for anything else. A NUL
    /// inside the string would end it early for inet_pton, so it is refused.
    static func parse(_ text: String) -> [UInt8]? {
        guard !text.isEmpty, text.utf8.count <= 64, !text.utf8.contains(0) else { return nil }
        var buffer = [UInt8](repeating: 0, count: 16)
        if inet_pton(AF_INET, text, &buffer) == 1 { return Array(buffer[0..<4]) }
        if inet_pton(AF_INET6, text, &buffer) == 1 { return buffer }
        return nil
    }

    static func text(_ bytes: [UInt8]) -> String? {
        switch bytes.count {
        case 4:
            return bytes.map { String($0) }.joined(separator: ".")
        case 16:
            var output = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
            let ok = output.withUnsafeMutableBufferPointer { out in
                inet_ntop(AF_INET6, bytes, out.baseAddress, socklen_t(out.count)) != nil
            }
            guard ok else { return nil }
            return String(decoding: output.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        default:
            return nil
        }
    }

    /// A listener on a dual-stack socket sees IPv4 clients as ::ffff:a.b.c.d;
    /// DNSBLs and in-addr.arpa know them by their IPv4 address.
    static func unmapped(_ bytes: [UInt8]) -> [UInt8] {
        guard bytes.count == 16, bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xFF, bytes[11] == 0xFF else {
            return bytes
        }
        return Array(bytes[12..<16])
    }

    /// The labels of a reverse name without its zone: 4.3.2.1 for 1.2.3.4,
    /// one nibble per label, lowest first, for IPv6 (RFC 3596, RFC 5782).
    static func reversedLabels(_ text: String) -> (labels: String, isIPv6: Bool)? {
        guard let parsed = parse(text) else { return nil }
        let bytes = unmapped(parsed)
        if bytes.count == 4 {
            return (bytes.reversed().map { String($0) }.joined(separator: "."), false)
        }
        let digits = Array("0123456789abcdef")
        var nibbles: [Character] = []
        for byte in bytes.reversed() {
            nibbles.append(digits[Int(byte & 0x0F)])
            nibbles.append(digits[Int(byte >> 4)])
        }
        return (nibbles.map { String($0) }.joined(separator: "."), true)
    }
}
