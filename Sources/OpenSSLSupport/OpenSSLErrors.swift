import COpenSSL

/// The thread's OpenSSL error queue, read and emptied, so that one
/// connection's error never shows up as another's. Shared by the
/// listener's TLS (server) and the relay's (client).
public enum OpenSSLErrors {
    /// All queued errors as one line, oldest first; the queue is left empty.
    /// `fallback` describes the failure when OpenSSL queued nothing.
    public static func drain(fallback: String = "unknown error") -> String {
        var messages: [String] = []
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            let message = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if messages.count < 8 && !messages.contains(message) { messages.append(message) }
        }
        ERR_clear_error()
        return messages.isEmpty ? fallback : messages.joined(separator: "; ")
    }

    /// Empties the queue before an operation whose outcome is read with `SSL_get_error`.
    public static func clear() { ERR_clear_error() }
}
