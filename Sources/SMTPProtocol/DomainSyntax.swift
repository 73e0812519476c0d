/// RFC 5321 §4.1.2 `Domain` and `address-literal`, shared by the path parser
/// and HELO/EHLO. Strict on purpose: the HELO name lands in the Received:
/// header, and every domain ends up in logs and maps, so only the documented
/// shapes pass.
enum DomainSyntax {
    static let maxDomainLength = 255
    static let maxLabelLength = 63

    /// `sub-domain *("." sub-domain)` with `sub-domain = Let-dig [Ldh-str]`.
    /// `allowUnderscore` exists for HELO names only, where Windows hosts
    /// commonly send one and refusing them would help nobody.
    /// `allowNonASCII` admits RFC 6531 U-labels: bytes of 0x80 and above
    /// count as letters here, and the caller checks that they form
    /// well-formed UTF-8 (a label is still at most 63 octets).
    static func isDomain(
        _ bytes: ArraySlice<UInt8>, allowUnderscore: Bool = false, allowNonASCII: Bool = false
    ) -> Bool {
        guard !bytes.isEmpty, bytes.count <= maxDomainLength else { return false }
        var labelLength = 0
        var previous = ASCII.dot
        for byte in bytes {
            if byte == ASCII.dot {
                guard labelLength > 0, previous != ASCII.hyphen else { return false }
                labelLength = 0
            } else if ASCII.isAlphanumeric(byte) || byte == ASCII.hyphen
                || (allowUnderscore && byte == ASCII.underscore) || (allowNonASCII && byte >= 0x80)
            {
                if labelLength == 0 && byte == ASCII.hyphen { return false }
                labelLength += 1
                if labelLength > maxLabelLength { return false }
            } else {
                return false
            }
            previous = byte
        }
        return labelLength > 0 && previous != ASCII.hyphen
    }

    /// `"[" (IPv4-address-literal / IPv6-address-literal) "]"`. The general
    /// form (`tag:content`) is refused: no tag besides IPv6 is registered,
    /// so anything else is noise or an attempt to confuse a later parser.
    static func isAddressLiteral(_ bytes: ArraySlice<UInt8>) -> Bool {
        guard bytes.count >= 3, bytes.first == ASCII.leftBracket, bytes.last == ASCII.rightBracket else {
            return false
        }
        let inner = bytes.dropFirst().dropLast()
        let tag = "IPV6:"
        if inner.count > tag.utf8.count, ASCII.equalsIgnoringCase(inner.prefix(tag.utf8.count), tag) {
            return isIPv6(inner.dropFirst(tag.utf8.count))
        }
        return isIPv4(inner)
    }

    /// `Snum 3("." Snum)`, each Snum 1 to 3 digits worth at most 255.
    static func isIPv4(_ bytes: ArraySlice<UInt8>) -> Bool {
        let parts = bytes.split(separator: ASCII.dot, omittingEmptySubsequences: false)
        guard parts.count == 4 else { return false }
        for part in parts {
            guard (1...3).contains(part.count), part.allSatisfy(ASCII.isDigit) else { return false }
            let value = part.reduce(0) { $0 * 10 + Int($1 - 0x30) }
            guard value <= 255 else { return false }
        }
        return true
    }

    /// RFC 4291 text form: eight groups, or fewer around one "::", with an
    /// optional dotted IPv4 tail standing for the last two groups.
    static func isIPv6(_ bytes: ArraySlice<UInt8>) -> Bool {
        let text = Array(bytes)
        guard !text.isEmpty, text.count <= 45 else { return false }
        var doubleColon: Int?
        var index = 0
        while index + 1 < text.count {
            if text[index] == ASCII.colon && text[index + 1] == ASCII.colon {
                guard doubleColon == nil else { return false }
                doubleColon = index
                index += 2
            } else {
                index += 1
            }
        }
        guard let split = doubleColon else {
            return groupCount(text[...], allowIPv4Tail: true) == 8
        }
        guard let head = groupCount(text[..<split], allowIPv4Tail: false),
            let tail = groupCount(text[(split + 2)...], allowIPv4Tail: true)
        else { return false }
        return head + tail <= 7
    }

    /// The number of 16-bit groups in a run without "::", or nil if the run
    /// is malformed (an empty group, more than four hex digits, ...).
    private static func groupCount(_ bytes: ArraySlice<UInt8>, allowIPv4Tail: Bool) -> Int? {
        guard !bytes.isEmpty else { return 0 }
        let fields = bytes.split(separator: ASCII.colon, omittingEmptySubsequences: false)
        var count = 0
        for (position, field) in fields.enumerated() {
            if allowIPv4Tail && position == fields.count - 1 && field.contains(ASCII.dot) {
                guard isIPv4(field) else { return nil }
                count += 2
            } else {
                guard (1...4).contains(field.count), field.allSatisfy(ASCII.isHexDigit) else { return nil }
                count += 1
            }
        }
        return count
    }
}
