/// Which year a syslog stamp (`Dec  8 01:04:37`, no year) belongs to.
///
/// The reference is when the log was last written: a file's mtime, or now
/// for standard input. A stamp is in the reference's year unless its month
/// and day come more than a day after the reference's, in which case it is
/// from the year before (a file written up to 2 January holds December's
/// lines of the year before). The day of slack allows for a clock or zone
/// a little ahead. A single file that spans more than a year cannot be
/// told apart and is read as the last twelve months.
public struct YearRule: Sendable, Equatable {
    public var reference: LogTime

    public init(reference: LogTime) { self.reference = reference }

    public func year(month: Int, day: Int) -> Int {
        let stamp = month * 32 + day
        let limit = reference.month * 32 + reference.day + 1
        return stamp > limit ? reference.year - 1 : reference.year
    }
}
