import PosternCore

/// A composed notice, ready to be written to a spool data file and queued
/// under the queue id it was composed with.
public struct DSNMessage: Equatable, Sendable {
    /// Always the null sender (RFC 3461 §6.2, RFC 5321 §4.5.5): a notice
    /// about a notice is never sent to anyone but the postmaster.
    public let sender: String
    /// The envelope recipients: the original sender, or the double-bounce
    /// address as configured (possibly unqualified, like `postmaster`).
    public let recipients: [String]
    /// The message, CRLF-ended lines of at most 998 octets.
    public let bytes: [UInt8]
    /// `.eightBitMIME` when any octet is over 127 (a UTF-8 reason, an 8-bit
    /// original), for the new envelope's BODY=.
    public let bodyType: MessageBodyType
    /// The top-level headers carry a UTF-8 address (RFC 6531/6532).
    public let smtputf8: Bool
    /// Keep this with the queued notice: when the notice itself fails,
    /// pass it to `DSNPolicy.decide(_:event:isDoubleBounce:)` so that it is
    /// dropped rather than reported.
    public let isDoubleBounce: Bool
}

/// Why a notice could not be composed. Each is a caller or configuration
/// mistake, not something a sender can provoke.
public enum DSNComposeError: Error, Equatable, Sendable {
    /// The host name is empty or not a plain DNS name.
    case invalidHostname
    /// The report names no recipients.
    case noReportedRecipients
    /// The address to notify is empty (or nothing but control characters):
    /// null-sender messages are never notified.
    case noNotifyAddress
    /// Every boundary tried occurs in the content (it would take a message
    /// built to collide with each of them).
    case noUsableBoundary
    /// A line over 998 octets: a bug in the composer, refused rather than sent.
    case lineTooLong
}
