/// Text that came from a client or from Cyrus (user names, SASL's own
/// messages) on its way into a log line or a reply: every control
/// character, C0, DEL and C1, becomes `\xHH`, so nobody can forge a log
/// line or smuggle a CR into a reply. Backslash is escaped too, so the
/// escaped form cannot be mistaken for an escape that was typed.
enum SASLLogText {
    static func escaped(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            let value = scalar.value
            if value < 0x20 || value == 0x7F || (0x80...0x9F).contains(value) || value == 0x5C {
                out += "\\x" + (value < 0x10 ? "0" : "") + String(value, radix: 16, uppercase: true)
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
