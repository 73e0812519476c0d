import Glibc
import NIOConcurrencyHelpers
import PosternCore
import PosternIPC
import SMTPProtocol

/// One message's recipients for one destination domain: what a connection
/// delivers, and whom to tell. It owns a duplicate of the spool file's
/// descriptor, closed when the last holder lets go (a session may still be
/// asked for content after the message's report).
final class RelayWork: @unchecked Sendable {
    let message: OutboundMessage
    /// The queue's index of each of `message.recipients`.
    let jobIndices: [UInt32]
    let messageFD: Int32
    let route: RouteAnswer
    let destination: String
    private let lock = NIOLock()
    private var completion: (([RecipientOutcome]) -> Void)?

    init(
        message: OutboundMessage, jobIndices: [UInt32], messageFD: Int32, route: RouteAnswer, destination: String,
        completion: @escaping ([RecipientOutcome]) -> Void
    ) {
        self.message = message
        self.jobIndices = jobIndices
        self.messageFD = messageFD
        self.route = route
        self.destination = destination
        self.completion = completion
    }

    deinit { _ = close(messageFD) }

    /// Every recipient gets the same answer (a route that failed, no host
    /// reachable).
    func completeAll(_ status: RecipientOutcome.Status, _ text: String) {
        complete(jobIndices.map { RecipientOutcome(index: $0, status: status, text: text) })
    }

    /// The state machine's per-recipient results.
    func complete(_ report: MessageReport) {
        var outcomes: [RecipientOutcome] = []
        for result in report.results where jobIndices.indices.contains(result.index) {
            let status: RecipientOutcome.Status
            switch result.disposition {
            case .delivered: status = .delivered
            case .deferred: status = .deferred
            case .failed: status = .failed
            }
            outcomes.append(
                RecipientOutcome(
                    index: jobIndices[result.index], status: status, text: result.queueText,
                    notifyHandedOn: status == .delivered && report.dsnPassedOn))
        }
        // A recipient the report missed is retried rather than lost.
        let answered = Set(outcomes.map(\.index))
        for index in jobIndices where !answered.contains(index) {
            outcomes.append(RecipientOutcome(index: index, status: .deferred, text: "4.3.0 no result from the session"))
        }
        complete(outcomes)
    }

    /// Only the first completion counts.
    private func complete(_ outcomes: [RecipientOutcome]) {
        let done: (([RecipientOutcome]) -> Void)? = lock.withLock {
            defer { completion = nil }
            return completion
        }
        done?(outcomes)
    }
}
