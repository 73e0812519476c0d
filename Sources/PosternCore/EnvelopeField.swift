/// Every string that crosses a process boundary or lands in a spool file is
/// checked here: CR, LF and NUL never appear in an envelope field (the
/// Exim CVE-2020-28015/28026 class), and every field has a length bound.
public enum EnvelopeFieldError: Error, Equatable, Sendable {
    case forbiddenCharacter(field: String)
    case tooLong(field: String, limit: Int)
    case invalidUTF8(field: String)
}

public enum EnvelopeField {
    /// RFC 5321 §4.5.3.1.3: a path is at most 256 octets.
    public static let maxAddressLength = 256
    public static let maxTextLength = 1024
    /// A local target (`|command`, `/path`): Sendmail's MAXLINE-bounded
    /// alias values are longer than a path, but still a line.
    public static let maxTargetLength = 1024

    public static func validate(_ value: String, field: String, limit: Int = maxTextLength) throws {
        if value.utf8.count > limit { throw EnvelopeFieldError.tooLong(field: field, limit: limit) }
        for byte in value.utf8 where byte == 0 || byte == 0x0D || byte == 0x0A {
            throw EnvelopeFieldError.forbiddenCharacter(field: field)
        }
    }

    public static func validateBytes(_ bytes: some Collection<UInt8>, field: String, limit: Int = maxTextLength) throws
        -> String
    {
        if bytes.count > limit { throw EnvelopeFieldError.tooLong(field: field, limit: limit) }
        for byte in bytes where byte == 0 || byte == 0x0D || byte == 0x0A {
            throw EnvelopeFieldError.forbiddenCharacter(field: field)
        }
        guard let s = String(validating: bytes, as: UTF8.self) else {
            throw EnvelopeFieldError.invalidUTF8(field: field)
        }
        return s
    }
}
