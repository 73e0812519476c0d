/// What a record says, in the terms the report counts. `other` is every
/// line the review only counts by level (and by text for problems).
public enum LogEvent: Equatable, Sendable {
    // listener
    case connect(client: String)
    case disconnect(client: String)
    case rejected(client: String, reason: RejectionReason)
    case accepted(client: String)
    case tlsIn(version: String)
    case authSucceeded(mechanism: String)
    case authFailed(mechanism: String)
    // queue
    case queued(from: String)
    case noticeQueued(kind: String, about: String)
    case delivery(address: String, status: DeliveryStatus, transport: Transport, reason: String)
    // relay
    case relayed(tlsVersion: String?)
    // master and local
    case childStarted(role: ProcessRole)
    case childDied(role: ProcessRole, signal: Int?)
    case workerStarted
    // submit
    case submitted
    case other
}

public enum DeliveryStatus: String, Sendable {
    case sent, deferred, bounced, expanded
}

/// The way a delivery went: the JSON keys of `deliveries`.
public enum Transport: String, CaseIterable, Codable, Sendable {
    case mbox, maildir, pipe, file, relay, other
}

/// A record's level, from the `warning:`, `error:` or `critical:` the
/// daemon puts after the queue id.
public enum LogLevel: String, Sendable {
    case info, warning, error, critical
}
