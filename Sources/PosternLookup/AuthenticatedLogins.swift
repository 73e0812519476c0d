import NIOConcurrencyHelpers
import PosternCore
import PosternIPC

/// The logins this lookup itself saw succeed, recently. The listener tells
/// the lookup who a session authenticated as with every MAIL and RCPT, and
/// authentication lifts the relay ban; a listener that has been taken over
/// must not be able to claim any login it likes. So a claimed login counts
/// only if a SASL exchange for it succeeded here within `lifetime`.
/// (A compromised listener could still reuse a login that really logged in;
/// it can no longer invent one.)
final class AuthenticatedLogins: Sendable {
    /// Longer than any SMTP session is allowed to last.
    static let lifetime: Double = 24 * 3600
    static let capacity = 100_000

    private let seen = NIOLockedValueBox<[String: Double]>([:])

    func record(_ login: String, now: Double = MonotonicClock.now()) {
        seen.withLockedValue { seen in
            if seen.count >= Self.capacity { seen = seen.filter { now - $0.value < Self.lifetime } }
            if seen.count < Self.capacity { seen[login] = now }
        }
    }

    func isKnown(_ login: String, now: Double = MonotonicClock.now()) -> Bool {
        seen.withLockedValue { $0[login].map { now - $0 < Self.lifetime } ?? false }
    }
}
