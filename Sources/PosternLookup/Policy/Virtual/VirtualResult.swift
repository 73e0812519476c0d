/// What a virtusertable entry says about a recipient.
public enum VirtualResult: Equatable, Sendable {
    /// Deliver to this local user (who may still be an alias).
    case local(String)
    /// Forward to this address. Its domain may be local or virtual too:
    /// Sendmail looks the result up again, and so must the caller (with a
    /// bound on the number of rounds).
    case address(String)
    /// Refuse the recipient with this reply.
    case error(enhanced: String, code: Int, text: String)

    /// What a catch-all's `%1` gives when the recipient's own user part
    /// would make an unsafe result (`u%other` forwarded on, or `|cmd` as a
    /// local user): the recipient is refused instead.
    static let badDestination = VirtualResult.error(
        enhanced: "5.1.3", code: 553, text: "Bad destination mailbox address syntax")
}
