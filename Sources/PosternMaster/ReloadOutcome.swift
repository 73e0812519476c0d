/// What a reload came to, for the log and for `postern reload`.
enum ReloadOutcome: Equatable {
    /// Applied; `changed` names every option whose value changed, and
    /// `waitingForRestart` those of them that take effect only at a restart.
    case applied(changed: [String], waitingForRestart: [String])
    /// The file did not load: the running configuration is kept.
    case refused(String)

    var logLine: String {
        switch self {
        case .applied(let changed, _):
            return "reloading configuration"
                + (changed.isEmpty ? " (no option changed)" : ", changed: \(changed.joined(separator: " "))")
        case .refused: return "reload refused"
        }
    }

    /// The answer on the control socket: `applied` or `error: …`.
    var answer: String {
        switch self {
        case .applied(let changed, let waiting):
            var text = "applied\n"
            text += "changed: " + (changed.isEmpty ? "nothing" : changed.joined(separator: " ")) + "\n"
            if !waiting.isEmpty { text += "takes effect at the next restart: \(waiting.joined(separator: " "))\n" }
            return text
        case .refused(let errors):
            return "error: reload refused, the running configuration is kept:\n\(errors)\n"
        }
    }
}
