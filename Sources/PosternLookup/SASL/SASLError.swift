/// Why the SASL library could not be brought up or an exchange could not
/// begin. Typed, so the callers can tell a broken installation (no plugin,
/// init failure) from one bad request.
enum SASLError: Error, Equatable, Sendable, CustomStringConvertible {
    /// `sasl_server_init` failed (its code and Cyrus's text).
    case initialization(code: Int32, detail: String)
    /// `sasl_server_new` failed.
    case connection(code: Int32, detail: String)

    var description: String {
        switch self {
        case .initialization(let code, let detail): return "sasl_server_init failed (\(code)): \(detail)"
        case .connection(let code, let detail): return "sasl_server_new failed (\(code)): \(detail)"
        }
    }
}
