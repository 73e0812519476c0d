/// One thing wrong with a line of a map file. Map files are read as text on
/// every start and reload, so one bad line must never cost the whole map:
/// the parsers skip the line, record a problem, and go on. `postern check`
/// and the reload log print the problems as `file:line: message`.
public struct MapProblem: Equatable, Sendable, CustomStringConvertible {
    /// An error means the line was ignored; a warning means it was used
    /// (or knowingly ignored, like another MTA's tag) but deserves a look.
    public enum Severity: Equatable, Sendable {
        case error
        case warning
    }

    public var file: String
    public var line: Int
    public var severity: Severity
    public var message: String

    public init(file: String, line: Int, severity: Severity, message: String) {
        self.file = file
        self.line = line
        self.severity = severity
        self.message = message
    }

    /// `access:12: unknown action "FOO"`, or with `warning: ` before the
    /// message for warnings, the shape compilers and `postern check` use.
    public var description: String {
        switch severity {
        case .error: return "\(file):\(line): \(message)"
        case .warning: return "\(file):\(line): warning: \(message)"
        }
    }
}

extension Substring {
    /// The text without leading and trailing spaces, tabs and stray CRs:
    /// map lines separate fields with spaces or tabs, and a file edited on
    /// another system may end its last line with a lone CR.
    public var trimmingMapBlanks: Substring {
        var result = self
        while let first = result.first, first == " " || first == "\t" || first == "\r" { result = result.dropFirst() }
        while let last = result.last, last == " " || last == "\t" || last == "\r" { result = result.dropLast() }
        return result
    }
}
