import PosternCore
import PosternIPC

/// Recipients that local delivery replaced by others (an alias's members,
/// a `.forward`'s entries) are added to the same message, as Sendmail adds
/// expanded recipients to the qf file: the message is stored once, each new
/// recipient is delivered, retried and bounced like one from RCPT, and the
/// sender's DSN requests carry over. This is which members a message gains.
enum RecipientExpansion {
    /// How many recipients one message may reach through expansion; beyond
    /// it the rest fail (a mailing list this large belongs in a list server).
    static let maxRecipients = 10_000

    /// Adds an expanded recipient's members after it; returns how many were
    /// new. A member already in the message (the same user and target, or
    /// the same remote address) is not added again: that ends alias and
    /// `.forward` loops (`a -> b -> a`) and sends a list's copy once to a
    /// member listed twice.
    static func add(
        _ members: [ExpandedRecipient], parent: Int, refusals: [String: String], to envelope: inout Envelope
    ) -> (added: Int, refused: [String]) {
        guard envelope.recipients.indices.contains(parent) else { return (0, []) }
        var seen = Set(envelope.recipients.map(DuplicateRecipients.key))
        let from = envelope.recipients[parent]
        // The parent answers NOTIFY=SUCCESS itself (it was expanded); its
        // members report failures and delays as it asked.
        var notify = from.notify
        notify.remove(.success)
        if notify.isEmpty && !from.notify.isEmpty { notify = .never }
        let original = from.originalRecipient.isEmpty ? "rfc822;" + from.address : from.originalRecipient
        var added = 0
        var refused: [String] = []
        for member in members {
            var recipient = Recipient(
                address: member.address, localUser: member.localUser, notify: notify, originalRecipient: original,
                target: member.target)
            if member.localUser.isEmpty, let reason = refusals[member.address] {
                // A member the lookup refused: it fails with the lookup's reply.
                recipient.state = .failed
                recipient.lastResult = reason
                refused.append(member.address)
            } else {
                guard seen.insert(DuplicateRecipients.key(recipient)).inserted else { continue }
            }
            guard envelope.recipients.count < maxRecipients else {
                refused.append(member.address)
                continue
            }
            // The member's user comes from another process (and, through a
            // .forward, from a user's file): it keys a delivery worker and
            // names an mbox, so a blank, a control character or a slash is
            // refused here, where it arrives.
            let badUser = member.localUser.utf8.contains { $0 <= 0x20 || $0 == 0x7F || $0 == UInt8(ascii: "/") }
            guard !badUser, (try? recipient.validate()) != nil else {
                refused.append(member.address)
                continue
            }
            envelope.recipients.append(recipient)
            added += 1
        }
        return (added, refused)
    }
}
