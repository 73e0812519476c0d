import PosternCore
import PosternIPC

/// What a commit stores: the envelope the listener described, with what
/// only the queue decides (the arrival, the data file's size, the delivery
/// state, which recipients are duplicates), and the lines it is logged with.
enum CommitEnvelope {
    /// The envelope, and whether it may be stored at all: every field
    /// valid again (the listener is not trusted) and at least one recipient.
    static func make(_ request: CommitRequest, arrival: Int64, size: Int64) -> (envelope: Envelope, valid: Bool) {
        var envelope = Envelope(
            queueID: request.queueID, sender: request.sender,
            recipients: request.recipients.map {
                Recipient(
                    address: $0.address, localUser: $0.localUser, state: $0.state == .failed ? .failed : .pending,
                    lastResult: $0.lastResult, notify: $0.notify, originalRecipient: $0.originalRecipient)
            },
            arrival: arrival, clientAddress: request.clientAddress, clientHelo: request.clientHelo,
            authUser: request.authUser, size: size, dsnReturn: request.dsnReturn,
            envelopeID: request.envelopeID, bodyType: request.bodyType, smtputf8: request.smtputf8)
        let valid = (try? envelope.validate()) != nil && !envelope.recipients.isEmpty
        DuplicateRecipients.mark(&envelope)
        return (envelope, valid)
    }

    /// `queued, …`, and a line for each recipient riding on another's delivery.
    static func queuedLines(_ envelope: Envelope) -> [QueueLogLine] {
        let id = envelope.queueID
        var lines: [QueueLogLine] = [
            .info(
                "queued, from=<\(envelope.sender)>, size=\(envelope.size), nrcpt=\(envelope.recipients.count), client=\(envelope.clientAddress)",
                id)
        ]
        for r in envelope.recipients where r.state == .failed {
            lines.append(.info("to=<\(r.address)>, relay=submit, status=bounced (\(r.lastResult))", id))
        }
        for r in envelope.recipients {
            guard let primary = r.duplicateOf, envelope.recipients.indices.contains(primary) else { continue }
            lines.append(
                .info("to=<\(r.address)>: same delivery as <\(envelope.recipients[primary].address)>, one copy", id))
        }
        return lines
    }
}
