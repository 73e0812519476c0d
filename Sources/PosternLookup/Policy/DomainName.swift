/// Host and domain names as the policy compares them: lowercase, without the
/// root's trailing dot. `Example.COM.` and `example.com` are one domain (DNS
/// is case-insensitive and the trailing dot only says "fully qualified"), and
/// treating them as two is a classic way around a relay check.
enum DomainName {
    /// RFC 1035 limits, checked so that nothing absurd becomes a map key.
    static let maxLength = 253
    static let maxLabelLength = 63

    /// The normalized name, or nil if `text` is not a plain host name:
    /// letters, digits, `-` and `_` (seen in real host names) in non-empty
    /// labels, at most one trailing dot. Non-ASCII letters pass too, for
    /// SMTPUTF8 (RFC 6531) domains: such a name is local only if listed as
    /// written, so at worst it is refused as relaying. Anything else (`%`,
    /// `!`, `@`, `:`, `[`, spaces, controls) cannot be a domain and so must
    /// not be taken for one.
    static func normalize(_ text: some StringProtocol) -> String? {
        var name = Substring(text)
        if name.hasSuffix(".") { name = name.dropLast() }
        guard !name.isEmpty, name.utf8.count <= maxLength else { return nil }
        var labelLength = 0
        for byte in name.utf8 {
            if byte == UInt8(ascii: ".") {
                guard labelLength > 0 else { return nil }
                labelLength = 0
            } else if isLabelByte(byte) {
                labelLength += 1
                guard labelLength <= maxLabelLength else { return nil }
            } else {
                return nil
            }
        }
        guard labelLength > 0 else { return nil }
        if !name.utf8.allSatisfy({ $0 < 0x80 }), name.unicodeScalars.contains(where: isInvisible) { return nil }
        return name.lowercased()
    }

    /// The parent domains of a normalized name, nearest first:
    /// `a.b.example.com` gives `b.example.com`, `example.com`, `com`.
    static func parents(of name: String) -> [Substring] {
        var result: [Substring] = []
        var rest = Substring(name)
        while let dot = rest.firstIndex(of: ".") {
            rest = rest[rest.index(after: dot)...]
            result.append(rest)
        }
        return result
    }

    /// True for a name made only of digits and dots: a string that looks
    /// like an IPv4 address or prefix is never treated as a host name.
    static func looksNumeric(_ name: some StringProtocol) -> Bool {
        name.utf8.allSatisfy { ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) || $0 == UInt8(ascii: ".") }
    }

    /// C1 controls, Unicode spaces and format characters: valid UTF-8 that
    /// no domain holds, and that would make a log line or a reply lie.
    private static func isInvisible(_ scalar: Unicode.Scalar) -> Bool {
        (0x80...0x9f).contains(scalar.value) || scalar.properties.isWhitespace
            || scalar.properties.generalCategory == .format
    }

    private static func isLabelByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), 0x80...0xff:
            return true
        default:
            return false
        }
    }
}
