import Glibc
import PosternCore
import PosternIPC

/// Group commit, on `committer`: the machine hands over every pending
/// commit at once; they are staged together and share one directory fsync
/// (`Spool.commit(batch:)`), each listener is answered as soon as the batch
/// is on disk, and the machine then learns which messages it now holds.
extension QueueService {
    func commit(_ batch: [PendingCommit]) {
        committer.async { [self] in
            let now = Int64(time(nil))
            let made = batch.map { pending -> (envelope: Envelope, valid: Bool) in
                var st = stat()
                let size = fstat(pending.fd, &st) == 0 ? Int64(st.st_size) : 0
                return CommitEnvelope.make(pending.request, arrival: now, size: size)
            }
            var results = spool.commit(batch: zip(made, batch).filter(\.0.valid).map { ($0.0.envelope, $0.1.fd) })[...]
            var committed: [Envelope] = []
            for (pending, made) in zip(batch, made) {
                let envelope = made.envelope
                let result: Result<Void, SpoolError>? = made.valid ? results.popFirst() : nil
                close(pending.fd)
                switch result {
                case .success:
                    respond(pending.requester, .committed(pending.request.queueID))
                    CommitEnvelope.queuedLines(envelope).forEach(log)
                    committed.append(envelope)
                case .failure(let error):
                    logger.error("commit failed: \(error)", metadata: ["qid": "\(envelope.queueID)"])
                    spool.abort(envelope.queueID)
                    let status = error.isOutOfSpace ? QueueMachine.insufficientStorage : QueueMachine.temporaryFailure
                    respond(pending.requester, .rejected(status))
                case nil:
                    logger.error("commit refused: invalid envelope", metadata: ["qid": "\(envelope.queueID)"])
                    spool.abort(envelope.queueID)
                    respond(
                        pending.requester,
                        .rejected(SMTPReply(code: 554, enhanced: "5.5.0", text: "Invalid envelope")))
                }
            }
            let finished = committed
            state.async { self.feed(.commitBatchFinished(committed: finished)) }
        }
    }

    private func respond(_ requester: Requester, _ message: IPCMessage) {
        try? (requester.peer.object as? IPCChannel)?.respond(to: requester.requestID, with: message)
    }
}
