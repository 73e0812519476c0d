/// Why a `|command` delivery was refused before anything ran.
///
/// Every case is permanent: the command text or the smrsh directory would
/// have to change, and retrying the same text can only be refused again.
/// They all become "5.7.1 ... not available for sendmail programs", the
/// answer users of smrsh know.
public enum SmrshRefusal: Error, Equatable, Sendable {
    /// Nothing but blanks (and perhaps the `|`).
    case emptyCommand
    case commandTooLong(bytes: Int)
    /// A shell metacharacter, a control byte or a non-ASCII byte.
    case forbiddenCharacter(UInt8)
    /// The first word names no program: empty after the path is stripped,
    /// `.` or `..`.
    case invalidProgramName(String)
    /// The configured smrsh directory is not an absolute path.
    case invalidSmrshDirectory(String)
    /// The smrsh directory exists but could let someone other than root
    /// choose what runs (not owned by root, or writable by group or others),
    /// or cannot be opened.
    case unsafeSmrshDirectory(reason: String)
    /// No runnable program of that name in the smrsh directory.
    case programUnavailable(program: String, reason: String)

    /// One line for the DSN and the log; only bytes that passed the parser,
    /// or escaped ones, are quoted.
    public var explanation: String {
        switch self {
        case .emptyCommand:
            return "empty program command not available for sendmail programs"
        case .commandTooLong(let bytes):
            return "program command of \(bytes) bytes not available for sendmail programs"
        case .forbiddenCharacter(let byte):
            return "program command with \(Self.describe(byte)) not available for sendmail programs (smrsh)"
        case .invalidProgramName(let word):
            return "\"\(Self.bounded(word))\" not available for sendmail programs (no program name)"
        case .invalidSmrshDirectory(let directory):
            return "smrsh directory \(Self.bounded(directory).debugDescription) is not an absolute path"
        case .unsafeSmrshDirectory(let reason):
            return "program not available for sendmail programs: \(reason)"
        case .programUnavailable(let program, let reason):
            return "\"\(program)\" not available for sendmail programs (\(reason))"
        }
    }

    private static func describe(_ byte: UInt8) -> String {
        if byte > 0x20 && byte < 0x7F {
            return "character '\(Character(Unicode.Scalar(byte)))'"
        }
        let hex = String(byte, radix: 16, uppercase: true)
        return "byte 0x\(hex.count == 1 ? "0" + hex : hex)"
    }

    /// Words reaching here passed the metacharacter filter, so they are
    /// printable ASCII; only their length needs a bound.
    private static func bounded(_ text: String) -> String {
        text.utf8.count <= 64 ? text : String(decoding: text.utf8.prefix(64), as: UTF8.self) + "..."
    }
}
