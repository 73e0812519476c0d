/// The review's result. Its `Codable` form is the `--json` output; the
/// field names are stable and documented in README, "Logs" (`format`
/// changes if one ever has to change meaning).
public struct ReviewReport: Codable, Equatable, Sendable {
    public var format = 1
    public var lines = LineCounts()
    /// The first and last record counted, `YYYY-MM-DD HH:MM:SS`.
    public var first: String?
    public var last: String?
    public var connections = 0
    public var peakConcurrency = 0
    /// Messages the queue took in (`queued`), notices not included.
    public var messagesAccepted = 0
    public var rejections = Breakdown()
    public var auth = AuthCounts()
    public var tls = TLSCounts()
    public var deliveries: [String: Int] = Dictionary(uniqueKeysWithValues: Transport.allCases.map { ($0.rawValue, 0) })
    public var deferrals = Breakdown()
    public var bounces = Breakdown()
    public var notices = Breakdown()
    public var childDeaths = Breakdown()
    public var deathSignals: [String: Int] = [:]
    public var restarts = Breakdown()
    public var processes: [String: ProcessSummary] = [:]
    public var topClientsByConnections: [KeyCount] = []
    public var topClientsByRejections: [KeyCount] = []
    public var topDeferralDomains: [KeyCount] = []
    public var messagesPerHour: [KeyCount] = []
    /// A tally that forgot rare keys to stay in bounded memory.
    public var approximate = false

    enum CodingKeys: String, CodingKey {
        case format, lines, first, last, connections
        case peakConcurrency = "peak_concurrency"
        case messagesAccepted = "messages_accepted"
        case rejections, auth, tls, deliveries, deferrals, bounces, notices
        case childDeaths = "child_deaths"
        case deathSignals = "death_signals"
        case restarts, processes
        case topClientsByConnections = "top_clients_by_connections"
        case topClientsByRejections = "top_clients_by_rejections"
        case topDeferralDomains = "top_deferral_domains"
        case messagesPerHour = "messages_per_hour"
        case approximate
    }
}

public struct LineCounts: Codable, Equatable, Sendable {
    public var read = 0
    /// Postern records counted (after `--process`, `--since`, `--until`).
    public var records = 0
    public var otherPrograms = 0
    public var unparsable = 0
    /// Postern records left out by `--process`, `--since` or `--until`.
    public var filtered = 0

    enum CodingKeys: String, CodingKey {
        case read, records
        case otherPrograms = "other_programs"
        case unparsable, filtered
    }
}

/// A total and its parts by key.
public struct Breakdown: Codable, Equatable, Sendable {
    public var total = 0
    public var byReason: [String: Int] = [:]

    mutating func add(_ key: String) {
        total += 1
        byReason[key, default: 0] += 1
    }

    enum CodingKeys: String, CodingKey {
        case total
        case byReason = "by"
    }
}

public struct AuthCounts: Codable, Equatable, Sendable {
    /// By mechanism.
    public var successes: [String: Int] = [:]
    public var failures: [String: Int] = [:]
}

public struct TLSCounts: Codable, Equatable, Sendable {
    /// Inbound: connections, and handshakes by protocol version.
    public var inbound = TLSDirection()
    /// Outbound: relay deliveries, and those made over TLS by version.
    public var outbound = TLSDirection()

    enum CodingKeys: String, CodingKey {
        case inbound = "in"
        case outbound = "out"
    }
}

public struct TLSDirection: Codable, Equatable, Sendable {
    public var total = 0
    public var tls = 0
    public var versions: [String: Int] = [:]
}

/// The per-process view: one per role that logged.
public struct ProcessSummary: Codable, Equatable, Sendable {
    public var lines = 0
    /// Distinct pids that logged under this role.
    public var pids = 0
    public var warnings = 0
    public var errors = 0
    public var criticals = 0
    /// The most frequent warning, error and critical texts (numbers as N).
    public var topProblems: [KeyCount] = []
    /// The role's own events (listener: connections, accepted, rejected,
    /// auth_failed, tls; queue: queued, sent, deferred, bounced, notices;
    /// relay: delivered_tls, delivered_plain; master: started, deaths;
    /// local: workers_started; submit: submitted).
    public var events: [String: Int] = [:]

    enum CodingKeys: String, CodingKey {
        case lines, pids, warnings, errors, criticals
        case topProblems = "top_problems"
        case events
    }
}
