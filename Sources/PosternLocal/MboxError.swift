#if canImport(Glibc)
    import Glibc
#endif

/// Why an mbox delivery did not happen.
///
/// Every case means the message was *not* appended (a failed append is cut
/// back off the mailbox before the error is thrown), so the queue can always
/// treat an error as "not delivered": `unsafeMailbox` and `invalidArgument`
/// call for a bounce or for the operator, `lockTimeout` and `io` for a retry.
public enum MboxError: Error, Equatable, Sendable {
    /// The mailbox path does not name a plain file that belongs to the
    /// recipient: a symbolic link, a hard link, a FIFO or device, a file of
    /// another user, or one that was swapped while it was being opened.
    /// Writing anyway is how a hostile mail directory turns a delivery into
    /// an overwrite of someone else's file, so this is never retried blindly.
    case unsafeMailbox(reason: String)
    /// Another process held the dotlock or the fcntl lock for longer than the
    /// lock timeout.
    case lockTimeout
    /// A system call failed; `operation` says which step, `errno` why.
    case io(operation: String, errno: Int32)
    /// The caller passed something that cannot be written safely (a relative
    /// path, a header line with a line break, a date `gmtime` cannot express).
    /// These come from our own code, not from the recipient's directory.
    case invalidArgument(reason: String)
}
