/// Folds records into a `ReviewReport`, one at a time, in bounded memory:
/// counters, and tallies that are bounded (`BoundedTally`). Feed it lines
/// with `add(line:)` or parsed ones with `add(_:)`; `report()` any time.
public struct ReviewAggregator: Sendable {
    public var filter: ReviewFilter
    public var topCount: Int
    private var report = ReviewReport()
    private var clientsByConnections = BoundedTally()
    private var clientsByRejections = BoundedTally()
    private var deferralDomains = BoundedTally()
    private var problems: [ProcessRole: BoundedTally] = [:]
    /// Per role, by `ordinal`: mutated in place (a copy out of the report's
    /// dictionary would copy its `events` on every line).
    private var summaries = [ProcessSummary?](repeating: nil, count: ProcessRole.allCases.count)
    private var firstTime: LogTime?
    private var lastTime: LogTime?
    private var hours: [Int64: Int] = [:]
    private var pids: [ProcessRole: Set<Int>] = [:]
    /// Open sessions per listener pid; a new listener pid means the old
    /// one is gone with its sessions.
    private var open: [Int: Int] = [:]
    /// Deaths not yet followed by a start, per role: a start after one is a restart.
    private var awaitingRestart: [ProcessRole: Int] = [:]

    public init(filter: ReviewFilter = ReviewFilter(), topCount: Int = 10) {
        self.filter = filter
        self.topCount = topCount
    }

    public mutating func add(_ parsed: ParsedLine) {
        report.lines.read += 1
        switch parsed {
        case .otherProgram: report.lines.otherPrograms += 1
        case .unparsable: report.lines.unparsable += 1
        case .record(let record):
            guard filter.admits(record) else {
                report.lines.filtered += 1
                return
            }
            add(ClassifiedRecord(record))
        }
    }

    public mutating func add(_ c: ClassifiedRecord) {
        let record = c.record
        let role = record.role
        report.lines.records += 1
        if firstTime == nil { firstTime = record.time }
        lastTime = record.time
        let slot = role.ordinal
        if summaries[slot] == nil { summaries[slot] = ProcessSummary() }
        summaries[slot]?.lines += 1
        if pids[role, default: []].count < 10_000 { pids[role, default: []].insert(record.pid) }
        switch c.level {
        case .info: break
        case .warning: summaries[slot]?.warnings += 1
        case .error: summaries[slot]?.errors += 1
        case .critical: summaries[slot]?.criticals += 1
        }
        if c.level != .info { problems[role, default: BoundedTally(capacity: 2_000)].add(ProblemText.key(c.body)) }
        func count(_ event: String) { summaries[slot]?.events[event, default: 0] += 1 }
        switch c.event {
        case .connect(let client):
            report.connections += 1
            count("connections")
            clientsByConnections.add(client)
            if open[record.pid] == nil { open.removeAll() }
            open[record.pid, default: 0] += 1
            report.peakConcurrency = max(report.peakConcurrency, open.values.reduce(0, +))
            report.tls.inbound.total += 1
        case .disconnect:
            if let n = open[record.pid], n > 0 { open[record.pid] = n - 1 }
        case .rejected(let client, let reason):
            report.rejections.add(reason.rawValue)
            count("rejected")
            clientsByRejections.add(client)
        case .accepted:
            count("accepted")
        case .tlsIn(let version):
            report.tls.inbound.tls += 1
            report.tls.inbound.versions[version, default: 0] += 1
            count("tls")
        case .authSucceeded(let mechanism):
            report.auth.successes[mechanism, default: 0] += 1
            count("auth_succeeded")
        case .authFailed(let mechanism):
            report.auth.failures[mechanism, default: 0] += 1
            count("auth_failed")
        case .queued:
            report.messagesAccepted += 1
            hours[record.time.key / 10_000, default: 0] += 1
            count("queued")
        case .noticeQueued(let kind, _):
            report.notices.add(kind)
            count("notices")
        case .delivery(let address, let status, let transport, let reason):
            count(status.rawValue)
            switch status {
            case .sent: report.deliveries[transport.rawValue, default: 0] += 1
            case .deferred:
                report.deferrals.add(ProblemText.key(reason[...]))
                deferralDomains.add(Self.domain(address))
            case .bounced: report.bounces.add(ProblemText.key(reason[...]))
            case .expanded: break
            }
        case .relayed(let version):
            report.tls.outbound.total += 1
            if let version {
                report.tls.outbound.tls += 1
                report.tls.outbound.versions[version, default: 0] += 1
                count("delivered_tls")
            } else {
                count("delivered_plain")
            }
        case .childStarted(let child):
            count("started")
            if let n = awaitingRestart[child], n > 0 {
                awaitingRestart[child] = n - 1
                report.restarts.add(child.rawValue)
                bump(child, "restarted")
            }
        case .childDied(let child, let signal):
            count("deaths")
            report.childDeaths.add(child.rawValue)
            report.deathSignals[signal.map { "\($0)" } ?? "exit", default: 0] += 1
            awaitingRestart[child, default: 0] += 1
            bump(child, "died")
        case .workerStarted: count("workers_started")
        case .submitted: count("submitted")
        case .other: break
        }
    }

    /// An event of another role, seen in the master's lines.
    private mutating func bump(_ role: ProcessRole, _ event: String) {
        if summaries[role.ordinal] == nil { summaries[role.ordinal] = ProcessSummary() }
        summaries[role.ordinal]?.events[event, default: 0] += 1
    }

    /// `2024-12-08 01` from `LogTime.key / 10_000`.
    static func hourText(_ key: Int64) -> String {
        let hour = Int(key % 100)
        let date = key / 100
        let day = Int(date % 100)
        let month = Int(date / 100 % 100)
        let year = Int(date / 10_000)
        return LogTime(year: year, month: month, day: day, hour: hour).hourKey
    }

    static func domain(_ address: String) -> String {
        guard let at = address.utf8.lastIndex(of: 0x40) else { return address.lowercased() }
        return String(address[address.index(after: at)...]).lowercased()
    }

    public func result() -> ReviewReport {
        var out = report
        out.first = firstTime?.description
        out.last = lastTime?.description
        for role in ProcessRole.allCases {
            if let summary = summaries[role.ordinal] { out.processes[role.rawValue] = summary }
        }
        for (role, set) in pids { out.processes[role.rawValue]?.pids = set.count }
        for (role, tally) in problems { out.processes[role.rawValue]?.topProblems = tally.top(topCount) }
        out.topClientsByConnections = clientsByConnections.top(topCount)
        out.topClientsByRejections = clientsByRejections.top(topCount)
        out.topDeferralDomains = deferralDomains.top(topCount)
        out.messagesPerHour = hours.sorted { $0.key < $1.key }.map {
            KeyCount(key: Self.hourText($0.key), count: $0.value)
        }
        out.approximate =
            [clientsByConnections, clientsByRejections, deferralDomains].contains { $0.approximate }
            || problems.values.contains { $0.approximate }
        return out
    }
}
