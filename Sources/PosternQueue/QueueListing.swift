import Glibc
import PosternCore

/// The queue as text: Sendmail's `mailq` layout, so that administrators'
/// scripts and habits carry over, and one message in detail.
enum QueueListing {
    static func mailq(_ envelopes: [Envelope], inFlight: Set<QueueID>) -> String {
        guard !envelopes.isEmpty else { return "Mail queue is empty\n" }
        var out = "\t\tpostern queue (\(envelopes.count) request\(envelopes.count == 1 ? "" : "s"))\n"
        out += "-----Q-ID----- --Size-- -----Q-Time----- ------------Sender/Recipient-----------\n"
        for envelope in envelopes {
            var mark = " "
            if envelope.held {
                mark = "!"
            } else if inFlight.contains(envelope.queueID) {
                mark = "*"
            }
            let size = pad(String(envelope.size), 8)
            out += "\(envelope.queueID.value)\(mark) \(size) \(queueTime(envelope.arrival)) <\(envelope.sender)>\n"
            let pending = envelope.recipients.filter { $0.state == .pending }
            if let reason = pending.first(where: { !$0.lastResult.isEmpty })?.lastResult {
                out += "                 (\(envelope.held ? "Held; " : "Deferred: ")\(reason.prefix(120)))\n"
            } else if envelope.held {
                out += "                 (Held)\n"
            }
            for recipient in pending { out += "\t\t\t\t\t <\(recipient.address)>\n" }
        }
        out += "\t\tTotal requests: \(envelopes.count)\n"
        return out
    }

    static func details(_ envelope: Envelope) -> String {
        var out = "id: \(envelope.queueID.value)\n"
        out += "sender: <\(envelope.sender)>\n"
        out += "arrival: \(queueTime(envelope.arrival))\n"
        out += "client: \(envelope.clientAddress) (\(envelope.clientHelo))\n"
        if !envelope.authUser.isEmpty { out += "authenticated: \(envelope.authUser)\n" }
        out += "size: \(envelope.size)\n"
        out += "attempts: \(envelope.attempts), next: \(queueTime(envelope.nextAttempt))\n"
        if envelope.held { out += "held: yes\n" }
        if envelope.warned { out += "delay warning sent: yes\n" }
        if envelope.notice != .none { out += "notice: \(envelope.notice.rawValue)\n" }
        for recipient in envelope.recipients {
            let state: String
            switch recipient.state {
            case .pending: state = "pending"
            case .delivered: state = "delivered"
            case .failed: state = "failed"
            }
            out += "recipient: <\(recipient.address)> \(state)"
            if let primary = recipient.duplicateOf, envelope.recipients.indices.contains(primary) {
                out += " [same delivery as <\(envelope.recipients[primary].address)>]"
            }
            out += recipient.lastResult.isEmpty ? "\n" : " (\(recipient.lastResult))\n"
        }
        return out
    }

    /// "Mon Nov 23 16:45", the local time, as mailq shows it.
    static func queueTime(_ epoch: Int64) -> String {
        var t = time_t(epoch)
        var parts = tm()
        localtime_r(&t, &parts)
        var buffer = [CChar](repeating: 0, count: 32)
        let n = strftime(&buffer, 32, "%a %b %d %H:%M", &parts)
        return String(decoding: buffer.prefix(n).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    private static func pad(_ text: String, _ width: Int) -> String {
        String(repeating: " ", count: max(0, width - text.count)) + text
    }
}
