import Logging

/// What the lookup says at start about mechanisms it withdraws because
/// their nonces could only come from Cyrus's own seeding (see
/// `SASLRandomSource`). An error only when it matters: when nothing is
/// withdrawn there is nothing to say, and when no client can be offered
/// AUTH at all (no certificate, no AuthAllowCleartext) the withdrawal
/// changes nothing a client sees, so it is a note for whoever turns TLS on.
struct SASLWithdrawalNotice: Equatable {
    var level: Logger.Level
    var text: String

    /// Nil when `withdrawn` is empty.
    static func make(withdrawn: [String], authCanBeOffered: Bool) -> SASLWithdrawalNotice? {
        guard !withdrawn.isEmpty else { return nil }
        let text =
            "no \(SASLRandomSource.path) in the lookup's root and no getrandom seeding for"
            + " \(withdrawn.joined(separator: ", ")): not offered, their nonces would be guessable"
        guard authCanBeOffered else {
            return SASLWithdrawalNotice(
                level: .info, text: text + " (AUTH is not offered: no TLSCertificateFile, AuthAllowCleartext off)")
        }
        return SASLWithdrawalNotice(level: .error, text: text)
    }
}
