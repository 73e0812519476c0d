/// Which records the review counts: `--process`, `--since`, `--until`
/// (inclusive; compared as local wall-clock time, see `LogTime`).
public struct ReviewFilter: Sendable, Equatable {
    public var roles: Set<ProcessRole>?
    public var since: LogTime?
    public var until: LogTime?

    public init(roles: Set<ProcessRole>? = nil, since: LogTime? = nil, until: LogTime? = nil) {
        self.roles = roles
        self.since = since
        self.until = until
    }

    public func admits(_ record: LogRecord) -> Bool {
        if let roles, !roles.contains(record.role) { return false }
        if let since, record.time < since { return false }
        if let until, until < record.time { return false }
        return true
    }
}
