/// Makes envelope text safe to write into a notice. Envelope fields are
/// validated where they arrive (no CR, LF or NUL), but a notice is built
/// from text that also came from remote servers and from our own delivery
/// code, so nothing is trusted here: every control character (C0, DEL, C1
/// and the Unicode line and paragraph separators, which some parsers take
/// for line ends) becomes a space, runs of blanks collapse, and the result
/// has a length bound, cut on a character boundary.
enum DSNSanitizer {
    /// The most octets of one recipient's reason that a notice repeats.
    static let maxReasonLength = 512
    /// RFC 5321 §4.5.3.1.3: a path is at most 256 octets.
    static let maxAddressLength = 256
    /// Marks text that was cut.
    static let ellipsis = "..."

    /// One line of text, UTF-8 allowed (for the human-readable part and for
    /// header values under SMTPUTF8).
    static func line(_ text: String, limit: Int) -> String {
        var scalars = String.UnicodeScalarView()
        var lastWasBlank = true  // drops leading blanks
        for scalar in text.unicodeScalars {
            if isBreaking(scalar) || scalar == " " {
                if !lastWasBlank { scalars.append(" ") }
                lastWasBlank = true
            } else {
                scalars.append(scalar)
                lastWasBlank = false
            }
        }
        var result = String(scalars)
        while result.hasSuffix(" ") { result.removeLast() }
        return truncate(result, limit: limit)
    }

    /// One line of US-ASCII: `line`, with every other character as "?"
    /// (message/delivery-status is 7-bit text, RFC 3464 §2.1.2).
    static func asciiLine(_ text: String, limit: Int) -> String {
        let cleaned = line(text, limit: limit)
        return String(String.UnicodeScalarView(cleaned.unicodeScalars.map { $0.isASCII ? $0 : "?" }))
    }

    /// Cuts `text` to at most `limit` UTF-8 octets, whole characters only,
    /// ending in `ellipsis` when anything was cut.
    static func truncate(_ text: String, limit: Int) -> String {
        guard text.utf8.count > limit else { return text }
        let budget = max(0, limit - ellipsis.utf8.count)
        var kept = String.UnicodeScalarView()
        var used = 0
        for scalar in text.unicodeScalars {
            let size = String(scalar).utf8.count
            if used + size > budget { break }
            kept.append(scalar)
            used += size
        }
        return String(kept) + ellipsis
    }

    /// The characters that must never reach a header or a status field.
    static func isBreaking(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00...0x1F, 0x7F...0x9F, 0x2028, 0x2029, 0xFEFF: return true
        default: return false
        }
    }

    /// An RFC 3464 address field value: `rfc822; addr` for an ASCII address,
    /// `utf-8; addr` in RFC 6533's 7-bit `utf-8-addr-xtext` form otherwise.
    static func addressField(_ address: String) -> String {
        let cleaned = line(address, limit: maxAddressLength)
        if cleaned.unicodeScalars.allSatisfy(\.isASCII) { return "rfc822; \(cleaned)" }
        return "utf-8; \(utf8AddressXText(cleaned))"
    }

    /// RFC 6533 §3: `utf-8-addr-xtext`, where everything but QCHAR (printable
    /// ASCII other than "+", "=" and "\") is `\x{HEX}`, uppercase, at least
    /// two digits, no other leading zeros.
    static func utf8AddressXText(_ address: String) -> String {
        var out = ""
        for scalar in address.unicodeScalars {
            let v = scalar.value
            if v >= 0x21 && v <= 0x7E && v != 0x2B && v != 0x3D && v != 0x5C {
                out.unicodeScalars.append(scalar)
            } else {
                var hex = String(v, radix: 16, uppercase: true)
                if hex.count < 2 { hex = "0" + hex }
                out += "\\x{\(hex)}"
            }
        }
        return out
    }

    /// An `Original-Recipient:` value from the stored ORCPT (`type;address`,
    /// already xtext-decoded and printable ASCII): `type; address`. nil when
    /// there is none or it has no type.
    static func originalRecipientField(_ orcpt: String) -> String? {
        let cleaned = asciiLine(orcpt, limit: 500)
        guard let semicolon = cleaned.firstIndex(of: ";") else { return nil }
        let type = cleaned[..<semicolon].trimmingSpaces()
        let address = cleaned[cleaned.index(after: semicolon)...].trimmingSpaces()
        guard !type.isEmpty, !address.isEmpty, type.allSatisfy({ $0 != " " }) else { return nil }
        return "\(type); \(address)"
    }

    /// A host name fit for `Reporting-MTA: dns;` and for `Message-ID:`:
    /// letters, digits, "-" and "." only, 1 to 253 octets.
    static func isHostname(_ name: String) -> Bool {
        guard (1...253).contains(name.utf8.count) else { return false }
        return name.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == 0x2D || byte == 0x2E
        }
    }
}

extension Substring {
    fileprivate func trimmingSpaces() -> Substring {
        var s = self
        while s.first == " " { s.removeFirst() }
        while s.last == " " { s.removeLast() }
        return s
    }
}
