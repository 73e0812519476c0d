/// The exit statuses of sysexits.h, which every program that runs
/// `sendmail` knows: cron, PHP and mail user agents tell a temporary
/// failure (75) from a permanent one by them.
public enum SysExits: Int32, Sendable, Equatable {
    case ok = 0
    /// EX_USAGE: the command line was wrong.
    case usage = 64
    /// EX_DATAERR: the message was refused (NUL, bare CR, long line, size).
    case dataErr = 65
    /// EX_NOINPUT: an input file did not exist or was not readable.
    case noInput = 66
    /// EX_NOUSER: the address is unknown.
    case noUser = 67
    /// EX_NOHOST: the host is unknown.
    case noHost = 68
    /// EX_UNAVAILABLE: a service is unavailable.
    case unavailable = 69
    /// EX_SOFTWARE: an internal error.
    case software = 70
    /// EX_OSERR: a system error, such as fork failing.
    case osErr = 71
    /// EX_OSFILE: a system file is missing or malformed.
    case osFile = 72
    /// EX_CANTCREAT: an output file could not be created.
    case cantCreat = 73
    /// EX_IOERR: reading or writing failed.
    case ioErr = 74
    /// EX_TEMPFAIL: try again later; callers queue and retry.
    case tempFail = 75
    /// EX_PROTOCOL: the peer broke the protocol.
    case `protocol` = 76
    /// EX_NOPERM: not permitted.
    case noPerm = 77
    /// EX_CONFIG: the configuration is wrong.
    case config = 78
}
