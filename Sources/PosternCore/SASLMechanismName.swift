/// RFC 4422 §3.1: a mechanism name is 1 to 20 characters of upper-case
/// letters, digits, "-" and "_". Checked wherever a name crosses a process
/// boundary, so a name can never carry anything but a name.
public enum SASLMechanismName {
    public static func isValid(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard (1...20).contains(bytes.count) else { return false }
        return bytes.allSatisfy { byte in
            (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x30 && byte <= 0x39) || byte == 0x2D || byte == 0x5F
        }
    }
}
