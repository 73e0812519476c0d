/// Sendmail's PrivacyOptions flags, under Sendmail's names (the raw values),
/// so that the configuration maps onto them one to one. `public` and
/// `goaway` are not here: they are shorthands the configuration expands.
///
/// What the SMTP server does with each (the others are carried for the
/// processes that act on them):
/// - needmailhelo: MAIL before HELO/EHLO gets 503 5.0.0.
/// - needexpnhelo, needvrfyhelo: EXPN/VRFY before HELO/EHLO get 503 5.0.0.
/// - noexpn, novrfy, noetrn, noverb: the command is refused. VRFY answers
///   the same 252 either way, and EXPN is never run: neither ever says
///   whether a user exists.
/// - noreceipts: DSN is not advertised and NOTIFY=SUCCESS is dropped.
/// - authwarnings: X-Authentication-Warning: headers (no HELO; a HELO
///   address literal that is not the client's address).
/// - restrictmailq, restrictqrun, restrictexpand, nobodyreturn,
///   noactualrecipient: no SMTP effect; for the queue and local delivery.
public enum PrivacyFlag: String, CaseIterable, Hashable, Sendable {
    case needmailhelo
    case needexpnhelo
    case needvrfyhelo
    case noexpn
    case novrfy
    case noetrn
    case noverb
    case restrictmailq
    case restrictqrun
    case restrictexpand
    case noreceipts
    case nobodyreturn
    case authwarnings
    case noactualrecipient
}
