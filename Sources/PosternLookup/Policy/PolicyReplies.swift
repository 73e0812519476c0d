/// The policy's refusal texts, in one place so that the listener, the logs
/// and the tests agree on them. Addresses are quoted as `<addr>:` (as
/// Postfix and Sendmail do) after making them safe to echo: a reply text
/// must be printable ASCII on one line, whatever the address held.
enum PolicyReplies {
    /// Longest address echoed back; RFC 5321 paths are at most 256 octets.
    static let maxShownLength = 256

    static func relayingDenied(_ address: String) -> (Int, String, String) {
        (550, "5.7.1", "<\(shown(address))>: Relaying denied")
    }

    static func accessDenied(_ subject: String) -> (Int, String, String) {
        (550, "5.7.1", "<\(shown(subject))>: Access denied")
    }

    static func clientDenied(_ ip: String) -> (Int, String, String) {
        (554, "5.7.1", "<\(shown(ip))>: Access denied")
    }

    static func userUnknown(_ address: String) -> (Int, String, String) {
        (550, "5.1.1", "<\(shown(address))>: Recipient address rejected: User unknown in local recipient table")
    }

    static func malformed(_ address: String) -> (Int, String, String) {
        (553, "5.1.3", "<\(shown(address))>: Recipient address rejected: malformed address")
    }

    static func tooManyHops(_ address: String) -> (Int, String, String) {
        (553, "5.1.3", "<\(shown(address))>: Recipient address rejected: too many routing levels")
    }

    /// The text with anything outside printable ASCII replaced by `?` and
    /// cut to a bounded length.
    static func shown(_ text: String) -> String {
        var result = ""
        for scalar in text.unicodeScalars.prefix(maxShownLength) {
            result.unicodeScalars.append((0x20..<0x7f).contains(scalar.value) ? scalar : "?")
        }
        return result
    }
}
