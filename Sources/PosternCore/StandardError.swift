import Glibc

/// Writes to file descriptor 2 without C's `stderr` (a global `FILE *`,
/// shared mutable state the compiler cannot check): a command's or the
/// master's message before its log exists.
public enum StandardError {
    public static func print(_ line: String) { write(line + "\n") }

    /// The text as it is (its own line ends).
    public static func write(_ text: String) {
        let bytes = Array(text.utf8)
        var done = 0
        while done < bytes.count {
            let n = bytes[done...].withUnsafeBytes { Glibc.write(2, $0.baseAddress, $0.count) }
            if n > 0 {
                done += n
            } else if n < 0 && errno == EINTR {
                continue
            } else {
                return
            }
        }
    }
}
