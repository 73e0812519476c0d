import PosternCore
import SMTPProtocol

/// The masquerading rules of a configuration, shared by the listener (SMTP)
/// and submit (the sendmail command), which rewrite alike.
public enum MasqueradeConfiguration {
    /// Sendmail's class w is the local domains and this host's name; the
    /// listener has no local-host-names file (the lookup reads it), so the
    /// configured LocalDomains stand for it.
    public static func masquerader(_ config: PosternConfig) -> Masquerader? {
        let a = config.addressing
        let m = Masquerader(
            MasqueradeRules(
                masqueradeAs: a.masqueradeAs, masqueradeDomains: a.masqueradeDomains,
                localHostNames: config.localDomains, exposedUsers: a.exposedUsers,
                entireDomain: a.masqueradeEntireDomain, envelope: a.masqueradeEnvelope,
                alwaysAddDomain: a.alwaysAddDomain, hostName: config.myHostname))
        return m.isActive ? m : nil
    }
}
