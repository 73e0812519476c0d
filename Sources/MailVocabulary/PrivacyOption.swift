/// Sendmail's PrivacyOptions flags, spelled as Sendmail spells them so that
/// the seeds' advice can be pasted in. `public` and `goaway` are not flags
/// but shorthands; the configuration expands them and the stored set holds
/// only these real flags, so the SMTP code asks one question (`contains`).
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
public enum PrivacyOption: String, CaseIterable, Sendable {
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

    /// The order `postern check` writes them in: the `goaway` flags first,
    /// as Sendmail's manual lists them, then the rest.
    public static let displayOrder: [PrivacyOption] = [
        .needmailhelo, .needexpnhelo, .needvrfyhelo, .noexpn, .novrfy, .noverb, .authwarnings, .noetrn,
        .noreceipts, .nobodyreturn, .noactualrecipient, .restrictmailq, .restrictqrun, .restrictexpand,
    ]

    /// What `goaway` sets. Sendmail 8.12 and later define PRIV_GOAWAY as
    /// 0x0000ffff, the low bits only: needmailhelo, needexpnhelo,
    /// needvrfyhelo, noexpn, novrfy, authwarnings, noverb. Its manual: "The
    /// goaway pseudo-flag sets all flags except noreceipts, restrictmailq,
    /// restrictqrun, restrictexpand, noetrn, and nobodyreturn." We follow
    /// Sendmail so that a file copied from a Sendmail host means the same.
    public static let goaway: Set<PrivacyOption> = [
        .needmailhelo, .needexpnhelo, .needvrfyhelo, .noexpn, .novrfy, .authwarnings, .noverb,
    ]

    /// Flags that imply others. Sendmail's manual: "noexpn  Disallow EXPN
    /// entirely, implies noverb" (VERB is another way to watch expansion).
    /// Stored expanded, so the SMTP code need not know the rule.
    public static let implied: [PrivacyOption: Set<PrivacyOption>] = [.noexpn: [.noverb]]
}
