/// What the I/O layer tells the client state machine.
public enum SMTPClientEvent: Equatable, Sendable {
    /// The TCP connection is up; the greeting timer starts.
    case connected
    /// Bytes read from the server (decrypted, once TLS is up), any amount.
    case received([UInt8])
    /// The handshake asked for by `.startTLS` completed (and, for policy
    /// `verify`, the certificate and name checked out).
    case tlsEstablished
    /// The handshake failed, or verification did; the connection is unusable.
    case tlsFailed
    /// The next block of the current message's content, answering one
    /// `.readContent`. Blocks may be of any size and split anywhere.
    case content([UInt8])
    /// The content has no more bytes, answering one `.readContent`.
    case contentEnd
    /// The spooled content could not be read, answering one `.readContent`.
    case contentUnreadable
    /// The last `.armTimer` ran out.
    case timedOut
    /// The server closed the connection, or reading or writing failed.
    case connectionClosed
    /// Another message for this host. Messages may be given at any time,
    /// even before the session is ready; they are sent in order, and each
    /// gets exactly one `.report`.
    case nextMessage(OutboundMessage)
    /// No message will follow: QUIT once the last one is done.
    case noMoreMessages
}

/// What the I/O layer must do, in order.
public enum SMTPClientAction: Equatable, Sendable {
    /// Write these bytes (commands, or encoded content).
    case send([UInt8])
    /// Write what came before, then hand the connection to TLS; answer with
    /// `.tlsEstablished` or `.tlsFailed`. Nothing further arrives as
    /// cleartext: the machine has checked that the server sent nothing
    /// after its 220.
    case startTLS
    /// Read the next block of the current message's spooled content and
    /// answer with `.content`, `.contentEnd` or `.contentUnreadable`. At
    /// most one read is outstanding; answer each one, in order, even after
    /// the message's `.report` (the answer is then dropped), unless the
    /// connection has been closed. Reading after the previous `.send` has
    /// been written keeps memory bounded.
    case readContent
    /// (Re)start the one timer with this many seconds; on expiry send
    /// `.timedOut`. Only a complete reply or a new command re-arms it, so a
    /// server trickling bytes cannot stretch a wait.
    case armTimer(seconds: Int)
    /// Nothing is awaited from the server.
    case cancelTimer
    /// The final outcome of one message on this connection.
    case report(MessageReport)
    /// The session ended abnormally (followed by `.close`); do not reuse it.
    case sessionFailed(SessionFailure)
    /// Close the connection after writing what came before. Every later
    /// event is ignored, except that a late `.nextMessage` is reported
    /// deferred at once.
    case close
}
