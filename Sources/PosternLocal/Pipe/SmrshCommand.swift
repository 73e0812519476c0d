/// A `|command` delivery reduced to what Sendmail's restricted shell (smrsh)
/// would run: one program from the smrsh directory and its arguments.
///
/// There is no shell anywhere. The text comes from a user's `.forward` (or an
/// alias file), so it is hostile input; rather than parse shell syntax
/// correctly, anything that would mean something to a shell refuses the whole
/// command. What is left can only be a program name and plain words, split on
/// blanks, and the program can only be one the administrator put into the
/// smrsh directory: `/usr/bin/vacation` runs `SMRSHDIR/vacation`, exactly as
/// smrsh strips the path.
///
/// Allowed bytes, after the optional leading `|`: printable ASCII except the
/// metacharacters in `SmrshCommand.metacharacters`, plus space and tab as word
/// separators. Every control byte (NUL, CR, LF, DEL...) and every non-ASCII
/// byte is refused: a UTF-8 argument is rare enough that refusing it costs
/// less than reasoning about how each program treats it.
public struct SmrshCommand: Equatable, Sendable {
    /// The program's base name: the only name looked up, and argv[0].
    public let program: String
    /// The file executed: the smrsh directory joined with `program`.
    public let path: String
    /// The complete argv, `program` first.
    public let arguments: [String]

    /// Longest command accepted, in bytes. Generous for any real `.forward`
    /// line, and it keeps a pathological line from reaching execve.
    public static let maximumLength = 4096

    /// Bytes a shell would interpret: command separators, redirections,
    /// expansions, globbing, quoting, escapes, comments, history and
    /// assignments (`NAME=value program` would set an environment variable).
    public static let metacharacters: Set<UInt8> = Set(";&|<>$`(){}[]*?~'\"\\!#=%^".utf8)

    /// Parses the text after `|` (the leading `|` may be present; surrounding
    /// blanks are ignored).
    public init(parsing text: String, smrshDirectory: String) throws(SmrshRefusal) {
        let directory = Array(smrshDirectory.utf8)
        guard directory.first == UInt8(ascii: "/"), !directory.contains(0) else {
            throw .invalidSmrshDirectory(smrshDirectory)
        }
        var bytes = Self.trimmingBlanks(Array(text.utf8)[...])
        if bytes.first == UInt8(ascii: "|") {
            bytes = Self.trimmingBlanks(bytes.dropFirst())
        }
        guard !bytes.isEmpty else { throw .emptyCommand }
        guard bytes.count <= Self.maximumLength else { throw .commandTooLong(bytes: bytes.count) }
        if let bad = bytes.first(where: { !Self.isBlank($0) && !Self.isWordByte($0) }) {
            throw .forbiddenCharacter(bad)
        }
        let words = bytes.split(whereSeparator: Self.isBlank).map { String(decoding: $0, as: UTF8.self) }
        guard let first = words.first else { throw .emptyCommand }
        let base = first.split(separator: "/", omittingEmptySubsequences: false).last.map(String.init) ?? ""
        guard !base.isEmpty, base != ".", base != ".." else {
            throw .invalidProgramName(first)
        }
        program = base
        path = smrshDirectory.hasSuffix("/") ? smrshDirectory + base : smrshDirectory + "/" + base
        arguments = [base] + words.dropFirst()
    }

    private static func isBlank(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t")
    }

    /// Printable ASCII that no shell gives a meaning to.
    private static func isWordByte(_ byte: UInt8) -> Bool {
        byte > 0x20 && byte < 0x7F && !metacharacters.contains(byte)
    }

    private static func trimmingBlanks(_ bytes: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        guard let start = bytes.firstIndex(where: { !isBlank($0) }),
            let end = bytes.lastIndex(where: { !isBlank($0) })
        else { return [] }
        return bytes[start...end]
    }
}
