/// The symbolic names Sendmail's error mailer takes in place of a D.S.N
/// (`error:nouser User unknown`): the table `ErrorCodes` in Sendmail's
/// parseaddr.c, which maps each to a sysexits status. The enhanced code
/// for each is the one Sendmail's `markfailure()` (deliver.c) gives that
/// status, so an old file keeps the meaning its author saw in bounces.
/// Sendmail reads an unknown name as `unavailable`; here it is a problem
/// on its line, because a misspelt `tempfial` must not silently turn a
/// temporary refusal into a permanent one.
enum SendmailErrorName: String, CaseIterable, Sendable {
    case usage
    case nouser
    case nohost
    case unavailable
    case software
    case tempfail
    case `protocol`
    case config

    /// EX_USAGE 5.5.4, EX_NOUSER 5.1.1, EX_NOHOST 5.1.2, EX_TEMPFAIL 4.2.0,
    /// and 5.5.0 for the rest, as in markfailure().
    var enhancedCode: String {
        switch self {
        case .usage: return "5.5.4"
        case .nouser: return "5.1.1"
        case .nohost: return "5.1.2"
        case .tempfail: return "4.2.0"
        case .unavailable, .software, .protocol, .config: return "5.5.0"
        }
    }

    /// The text used when the entry gives none.
    var defaultText: String {
        switch self {
        case .usage: return "Command usage error"
        case .nouser: return "User unknown"
        case .nohost: return "Host unknown"
        case .tempfail: return "Temporary failure, try again later"
        case .unavailable: return "Service unavailable"
        case .software: return "Internal software error"
        case .protocol: return "Remote protocol error"
        case .config: return "Local configuration error"
        }
    }
}
