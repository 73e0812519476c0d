/// The report for a person: a summary like pflogsumm's, then each process.
public enum ReportText {
    public static func render(_ r: ReviewReport) -> String {
        var out = ""
        func line(_ s: String = "") { out += s + "\n" }
        func table(_ title: String, _ counts: [String: Int]) {
            guard !counts.isEmpty else { return }
            line("  \(title):")
            for (key, n) in counts.sorted(by: { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }) {
                line("    \(padLeft(n)) \(key)")
            }
        }
        func list(_ title: String, _ rows: [KeyCount]) {
            guard !rows.isEmpty else { return }
            line(title)
            for row in rows { line("  \(padLeft(row.count)) \(row.key)") }
            line()
        }
        line("Postern log review\(r.first.map { ", \($0)" } ?? "")\(r.last.map { " to \($0)" } ?? "")")
        line(
            "lines: \(r.lines.read) read, \(r.lines.records) Postern records, \(r.lines.otherPrograms) of other programs, \(r.lines.unparsable) unparsable, \(r.lines.filtered) filtered out"
        )
        if r.approximate { line("(some rare keys were forgotten to bound memory: their counts are approximate)") }
        line()
        line("Summary")
        line("  connections         \(r.connections) (peak \(r.peakConcurrency) at once)")
        line("  messages accepted   \(r.messagesAccepted)")
        line("  rejections          \(r.rejections.total)")
        table("rejections by reason", r.rejections.byReason)
        table("AUTH successes by mechanism", r.auth.successes)
        table("AUTH failures by mechanism", r.auth.failures)
        line("  TLS in              \(share(r.tls.inbound))")
        table("TLS in versions", r.tls.inbound.versions)
        line("  TLS out             \(share(r.tls.outbound))")
        table("TLS out versions", r.tls.outbound.versions)
        table("deliveries by transport", r.deliveries.filter { $0.value > 0 })
        line("  deferrals           \(r.deferrals.total)")
        table("deferrals by reason", r.deferrals.byReason)
        line("  bounces             \(r.bounces.total)")
        table("bounces by reason", r.bounces.byReason)
        line("  notices sent        \(r.notices.total)")
        table("notices by kind", r.notices.byReason)
        line("  child deaths        \(r.childDeaths.total)")
        table("deaths by role", r.childDeaths.byReason)
        table("deaths by signal", r.deathSignals)
        line("  restarts            \(r.restarts.total)")
        line()
        list("Top clients by connections", r.topClientsByConnections)
        list("Top clients by rejections", r.topClientsByRejections)
        list("Top destination domains by deferrals", r.topDeferralDomains)
        list("Messages per hour", r.messagesPerHour)
        line("Per process")
        for role in ProcessRole.allCases {
            guard let p = r.processes[role.rawValue] else { continue }
            line(
                "  \(role.rawValue): \(p.lines) lines, \(p.pids) pids, \(p.warnings) warnings, \(p.errors) errors, \(p.criticals) criticals"
            )
            let events = p.events.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
            if !events.isEmpty { line("    " + events.joined(separator: " ")) }
            for row in p.topProblems { line("    \(padLeft(row.count)) \(row.key)") }
        }
        return out
    }

    static func share(_ d: TLSDirection) -> String {
        guard d.total > 0 else { return "0 of 0" }
        return "\(d.tls) of \(d.total) (\(d.tls * 100 / d.total)%)"
    }

    static func padLeft(_ n: Int) -> String {
        let s = String(n)
        return s.count >= 7 ? s : String(repeating: " ", count: 7 - s.count) + s
    }
}
