/// One line Postern wrote: when, which process, and what it said (the
/// text after `postern/ROLE[PID]: `, unescaped as it was logged).
public struct LogRecord: Equatable, Sendable {
    public var time: LogTime
    public var host: String
    public var role: ProcessRole
    public var pid: Int
    public var text: String

    public init(time: LogTime, host: String, role: ProcessRole, pid: Int, text: String) {
        self.time = time
        self.host = host
        self.role = role
        self.pid = pid
        self.text = text
    }
}

/// What one physical line of a log is to the review.
public enum ParsedLine: Equatable, Sendable {
    case record(LogRecord)
    /// A well-formed syslog line of another program: skipped, not an error.
    case otherProgram
    /// Not a syslog line, or a `postern` tag that is not exactly one of
    /// ours: counted, never fatal.
    case unparsable
}
