/// Admission of new SMTP connections: the total, the concurrent connections
/// of one client address, and one client's connection rate over a sliding
/// window (Sendmail's MaxDaemonChildren, ClientConn and ClientRate). Pure:
/// the caller supplies the time and holds the lock.
///
/// An exempt client — this host itself, or one the access map trusts
/// (`Connect:` OK or RELAY), as Postfix exempts `$mynetworks` — counts
/// only toward the total: a local web application that opens fifty
/// connections is not refused as if it were an attacker.
struct ConnectionLimiter {
    enum Admission: Equatable {
        case admitted
        case tooManyConnections
        case tooManyFromClient
        case tooFast
    }

    var maxTotal: Int
    var maxPerClient: Int
    /// Connections one client may open per `window` seconds; 0 = no limit.
    var maxRatePerClient: Int
    var window: Double = 60

    private(set) var total = 0
    private var active: [String: Int] = [:]
    /// Recent connection times per client, oldest first, at most
    /// `maxRatePerClient` of them: memory stays bounded per client, and
    /// clients with no recent connection are dropped by `prune`.
    private var recent: [String: [Double]] = [:]
    private var lastPrune: Double = 0

    init(maxTotal: Int, maxPerClient: Int, maxRatePerClient: Int) {
        self.maxTotal = maxTotal
        self.maxPerClient = maxPerClient
        self.maxRatePerClient = maxRatePerClient
    }

    mutating func admit(_ client: String, now: Double, exempt: Bool = false) -> Admission {
        prune(now: now)
        if exempt {
            guard total < maxTotal else { return .tooManyConnections }
            total += 1
            return .admitted
        }
        if maxRatePerClient > 0 {
            var times = recent[client, default: []].filter { now - $0 < window }
            if times.count >= maxRatePerClient {
                recent[client] = times
                return .tooFast
            }
            times.append(now)
            recent[client] = times
        }
        if total >= maxTotal { return .tooManyConnections }
        if active[client, default: 0] >= maxPerClient { return .tooManyFromClient }
        total += 1
        active[client, default: 0] += 1
        return .admitted
    }

    /// `exempt`: as it was admitted (or made so by `exempt(_:)`).
    mutating func release(_ client: String, exempt: Bool = false) {
        if exempt {
            total = max(0, total - 1)
            return
        }
        guard let n = active[client] else { return }
        total -= 1
        active[client] = n > 1 ? n - 1 : nil
    }

    /// A session admitted as an ordinary client turned out to be exempt
    /// (the lookup's verdict): it no longer counts toward its client's.
    mutating func exempt(_ client: String) {
        guard let n = active[client] else { return }
        active[client] = n > 1 ? n - 1 : nil
    }

    func activeConnections(of client: String) -> Int { active[client, default: 0] }

    private mutating func prune(now: Double) {
        guard now - lastPrune >= window else { return }
        lastPrune = now
        recent = recent.filter { entry in entry.value.contains { now - $0 < window } }
    }
}
