/// What the listener does with a bare CR or LF inside a message.
public enum BareLineEndings: String, Sendable, Equatable {
    /// Refuse the message at its end (550 5.6.11): the SMTP smuggling
    /// defence, and the default.
    case reject
    /// Store each bare CR or bare LF as CR LF. The end of DATA is still
    /// only CR LF "." CR LF, and a bare line ending never counts as the
    /// start of a line for that purpose, so "\n.\n", "\n.\r\n", "\r.\r\n",
    /// "\r\n.\n" and "\r\n.\r" remain message content in this mode too:
    /// nothing after them can run as a command. The stored message may then
    /// hold a line with a lone "."; the spool is not dot-stuffed, and
    /// whoever sends it on over SMTP stuffs it like any other line.
    case normalize
}
