/// Writes one `Name: value` field, CRLF-ended, folded at blanks to stay
/// near 78 octets (RFC 5322 §2.1.1's "should"). Values reach here already
/// sanitised and bounded (no control characters, a few hundred octets at
/// most), so the 998-octet "must" holds even for a value without blanks.
enum DSNHeaderField {
    static let preferredLineLength = 78

    static func render(_ name: String, _ value: String) -> String {
        var out = ""
        var line = name + ":"
        for word in value.split(separator: " ", omittingEmptySubsequences: true) {
            if line.utf8.count + 1 + word.utf8.count > preferredLineLength && line.utf8.count > name.utf8.count + 1 {
                out += line + "\r\n"
                line = ""
            }
            line += " " + word
        }
        return out + line + "\r\n"
    }
}
