import PosternCore
import PosternIPC

/// New messages: a spool file handed to the listener, then its commit.
/// The commits themselves run in the driver on a thread of their own,
/// which takes every pending one at once so that concurrent sessions share
/// one directory fsync (group commit); the machine only queues them and
/// learns which were stored.
extension QueueMachine {
    static let insufficientStorage = SMTPReply(code: 452, enhanced: "4.3.1", text: "Insufficient system storage")
    static let temporaryFailure = SMTPReply(code: 451, enhanced: "4.3.0", text: "Temporary queue failure")

    mutating func openRequested(_ requester: Requester, _ actions: inout [QueueAction]) {
        guard !draining, uploads.count < limits.maxUploads else {
            actions.append(
                .reject(requester, SMTPReply(code: 451, enhanced: "4.3.2", text: "Queue busy, try again later")))
            return
        }
        guard spoolHasRoom else {
            actions.append(.reject(requester, Self.insufficientStorage))
            return
        }
        actions.append(.createSpoolFile(requester))
    }

    mutating func spoolFileCreated(
        _ requester: Requester, _ result: Result<(id: QueueID, fd: Int32), SpoolError>, _ actions: inout [QueueAction]
    ) {
        switch result {
        case .success(let created):
            uploads[created.id] = Upload(fd: created.fd, owner: requester.peer)
            actions.append(.handOver(requester, created.id, fd: created.fd))
        case .failure(let error):
            actions.append(.log(.error("cannot create a spool file: \(error)")))
            actions.append(.reject(requester, error.isOutOfSpace ? Self.insufficientStorage : Self.temporaryFailure))
        }
    }

    /// Only the channel that was handed the file may commit it.
    mutating func commitRequested(_ request: CommitRequest, _ requester: Requester, _ actions: inout [QueueAction]) {
        guard let upload = uploads[request.queueID], upload.owner == requester.peer else {
            actions.append(.reject(requester, SMTPReply(code: 451, enhanced: "4.3.0", text: "Unknown message")))
            return
        }
        uploads[request.queueID] = nil
        pendingCommits.append(PendingCommit(request: request, fd: upload.fd, requester: requester))
        runCommits(&actions)
    }

    /// Hands every pending commit to the committer, unless it is busy: then
    /// they wait for the batch under way and go together in the next.
    mutating func runCommits(_ actions: inout [QueueAction]) {
        guard !commitRunning, !pendingCommits.isEmpty else { return }
        commitRunning = true
        actions.append(.commit(pendingCommits))
        pendingCommits.removeAll()
    }

    mutating func commitBatchFinished(_ committed: [Envelope], now: Int64, _ actions: inout [QueueAction]) {
        for envelope in committed { messages[envelope.queueID] = envelope }
        // Recipients submit committed as failed: their sender hears now.
        for envelope in committed where envelope.recipients.contains(where: { $0.state == .failed }) {
            if envelope.recipients.allSatisfy({ $0.state != .pending }) {
                finish(envelope, now: now, &actions)
            } else {
                reportFailuresNow(envelope, now: now, &actions)
            }
        }
        commitRunning = false
        runCommits(&actions)
        schedule(now: now, &actions)
    }

    /// Only the uploading channel may abort, and only before the commit.
    mutating func abortRequested(_ id: QueueID, from peer: Handle, _ actions: inout [QueueAction]) {
        guard let upload = uploads[id], upload.owner == peer else { return }
        uploads[id] = nil
        actions.append(.discardUpload(id, fd: upload.fd))
        actions.append(.log(.info("aborted", id)))
    }
}
