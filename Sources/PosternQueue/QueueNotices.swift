import Glibc
import PosternCore
import PosternIPC

/// Delivery status notifications, sent by the queue itself: bounces when a
/// message's recipients have failed (or expired), success reports asked for
/// with NOTIFY=SUCCESS, and one delay warning after `Timeout.queuewarn`.
///
/// A notice is a new message in the spool (null sender), committed durably
/// before the event it reports is marked as reported, so a crash can repeat
/// a notice but never lose one. Its recipient (the sender, or the postmaster
/// for a failed bounce) is resolved by the lookup like any RCPT; while the
/// lookup cannot answer, the message waits and the notice is tried again.
extension QueueService {
    /// What the notice step decided about a message.
    enum NoticeOutcome {
        /// Every notice it needed is queued (or none was needed).
        case done(Envelope)
        /// Not now (the lookup or the spool failed): try again later; the
        /// envelope carries what was reported so far.
        case later(Envelope)
    }

    /// Sends what `finish` owes the sender — failures, then successes —
    /// and calls back (on `state`) with the envelope as it was left.
    func sendFinalNotices(_ envelope: Envelope, then done: @escaping (NoticeOutcome) -> Void) {
        sendNotice(envelope, event: .failed) { [self] outcome in
            guard case .done(let afterFailures) = outcome else { return done(outcome) }
            sendNotice(afterFailures, event: .delivered) { second in
                switch second {
                case .done: done(second)
                case .later: done(.later(afterFailures))
                }
            }
        }
    }

    /// Recipients that failed while others are still pending are reported
    /// now, not when the last one is done (which may be days away): the
    /// sender learns of a 550 in minutes, as Sendmail's queue run tells it.
    /// Reported recipients get NOTIFY=NEVER, so the final notice does not
    /// repeat them. Only for clients' messages: a notice's own failures go
    /// through the double-bounce rules at the end.
    func reportFailuresNow(_ envelope: Envelope) {
        guard envelope.notice == .none, !envelope.sender.isEmpty, !notifying.contains(envelope.queueID),
            envelope.recipients.contains(where: { $0.state == .failed && $0.notify != .never })
        else { return }
        notifying.insert(envelope.queueID)
        sendNotice(envelope, event: .failed) { [self] outcome in
            notifying.remove(envelope.queueID)
            guard case .done(let reported) = outcome, messages[envelope.queueID] != nil else { return }
            messages[envelope.queueID] = reported
            persist(reported, durable: true)
        }
    }

    /// The delay warning, once: `warned` is set when it is queued (or when
    /// nobody is to be told).
    func warnDelayed(_ envelope: Envelope) {
        guard !notifying.contains(envelope.queueID) else { return }
        notifying.insert(envelope.queueID)
        sendNotice(envelope, event: .delayed) { [self] outcome in
            notifying.remove(envelope.queueID)
            guard case .done = outcome, var current = messages[envelope.queueID] else { return }
            current.warned = true
            messages[envelope.queueID] = current
            persist(current, durable: true)
        }
    }

    /// One notice for one event, if the policy says so.
    private func sendNotice(
        _ envelope: Envelope, event: DSNEvent, then done: @escaping (NoticeOutcome) -> Void
    ) {
        let policy = DSNPolicy(privacy: dsnPrivacy)
        switch policy.decide(envelope, event: event, isDoubleBounce: envelope.notice == .doubleBounce) {
        case .silent:
            done(.done(envelope))
        case .dropDoubleBounce(let failed):
            let addresses = failed.map { "<\(envelope.recipients[$0].address)>" }.joined(separator: ", ")
            logger.warning(
                "double bounce to \(addresses) undeliverable: dropped, never answered",
                metadata: ["qid": "\(envelope.queueID)"])
            done(.done(envelope))
        case .notifySender(let notice), .notifyPostmaster(let notice):
            resolve(notice.recipient) { [self] resolution in
                switch resolution {
                case .recipient(let recipient):
                    guard inject(notice, about: envelope, to: recipient) else { return done(.later(envelope)) }
                    done(.done(Self.markReported(envelope, notice)))
                case .refused(let reason) where !notice.isDoubleBounce && event == .failed:
                    // The sender cannot be reached: the postmaster hears of it instead.
                    logger.info(
                        "bounce to <\(notice.recipient)> refused (\(reason)); telling the postmaster",
                        metadata: ["qid": "\(envelope.queueID)"])
                    let escalated = DSNNotice(
                        event: .failed, recipient: policy.doubleBounceAddress,
                        reportedRecipients: notice.reportedRecipients, isDoubleBounce: true)
                    resolve(escalated.recipient) { [self] again in
                        guard case .recipient(let postmaster) = again else {
                            logger.warning(
                                "the postmaster cannot be reached either: notice dropped",
                                metadata: ["qid": "\(envelope.queueID)"])
                            return done(.done(Self.markReported(envelope, notice)))
                        }
                        guard inject(escalated, about: envelope, to: postmaster) else { return done(.later(envelope)) }
                        done(.done(Self.markReported(envelope, notice)))
                    }
                case .refused(let reason):
                    logger.warning(
                        "\(event.rawValue) notice to <\(notice.recipient)> refused (\(reason)): dropped",
                        metadata: ["qid": "\(envelope.queueID)"])
                    done(.done(Self.markReported(envelope, notice)))
                case .unavailable:
                    done(.later(envelope))
                }
            }
        }
    }

    /// The reported recipients will not be reported on again: their NOTIFY
    /// becomes NEVER (kept in the control file, so a restart does not
    /// repeat the notice).
    private static func markReported(_ envelope: Envelope, _ notice: DSNNotice) -> Envelope {
        // A delay warning is remembered by `warned`; the failure or success
        // that follows it is still owed.
        guard notice.event != .delayed else { return envelope }
        var updated = envelope
        for index in notice.reportedRecipients where updated.recipients.indices.contains(index) {
            updated.recipients[index].notify = .never
        }
        return updated
    }

    private var dsnPrivacy: DSNPrivacy {
        DSNPrivacy(
            noReceipts: config.privacyOptions.contains(.noreceipts),
            noBodyReturn: config.privacyOptions.contains(.nobodyreturn),
            noActualRecipient: config.privacyOptions.contains(.noactualrecipient))
    }

    // MARK: the notice's recipient

    enum NoticeRecipient {
        case recipient(Recipient)
        case refused(String)
        case unavailable
    }

    /// Asks the lookup where the notice goes, as it would for a RCPT from a
    /// client that may relay (a bounce to a remote sender is relayed).
    private func resolve(_ address: String, then done: @escaping (NoticeRecipient) -> Void) {
        guard let lookup = peers.channel(.lookup) else { return done(.unavailable) }
        let client = ClientContext(address: "127.0.0.1", hostname: "localhost", authenticatedUser: "MAILER-DAEMON")
        lookup.request(.checkRecipient(address: address, client: client)) { [self] result in
            let resolution: NoticeRecipient
            switch result.map(\.message) {
            case .success(.recipientAccepted(let user)):
                resolution = .recipient(Recipient(address: address, localUser: user, notify: .never))
            case .success(.recipientRemote(let routed, _)):
                resolution = .recipient(Recipient(address: routed, localUser: "", notify: .never))
            case .success(.rejected(let status)) where status.code >= 500:
                resolution = .refused("\(status.code) \(status.enhanced) \(status.text)")
            default:
                resolution = .unavailable
            }
            state.async { done(resolution) }
        }
    }

    // MARK: writing it

    /// Composes the notice under a fresh queue id and commits it like a
    /// message from a client. Returns false if it could not be written.
    private func inject(_ notice: DSNNotice, about envelope: Envelope, to recipient: Recipient) -> Bool {
        let composer = DSNComposer(hostname: config.myHostname, privacy: dsnPrivacy)
        let now = Int64(time(nil))
        let timing = DSNTiming(
            date: RFC5322Date.format(epochSeconds: now),
            arrivalDate: RFC5322Date.format(epochSeconds: envelope.arrival),
            lastAttemptDate: envelope.attempts > 0 ? RFC5322Date.format(epochSeconds: now) : nil,
            willRetryUntil: notice.event == .delayed
                ? RFC5322Date.format(epochSeconds: envelope.arrival + Int64(config.queueReturn)) : nil)
        let original = readOriginal(envelope.queueID, prefix: composer.maxReturnedSize + 1)
        let created: (id: QueueID, fd: Int32)
        do {
            created = try spool.createData()
        } catch {
            logger.error("cannot create a notice: \(error)", metadata: ["qid": "\(envelope.queueID)"])
            return false
        }
        defer { close(created.fd) }
        let message: DSNMessage
        do {
            message = try composer.compose(
                notice, about: envelope, timing: timing, queueID: created.id, original: original)
        } catch {
            logger.error("cannot compose a notice: \(error)", metadata: ["qid": "\(envelope.queueID)"])
            spool.abort(created.id)
            return true  // nothing will ever compose it: do not retry forever
        }
        var notification = Envelope(
            queueID: created.id, sender: "", recipients: [recipient], arrival: now, clientAddress: "127.0.0.1",
            clientHelo: config.myHostname, size: Int64(message.bytes.count), bodyType: message.bodyType,
            smtputf8: message.smtputf8)
        notification.notice = message.isDoubleBounce ? .doubleBounce : .dsn
        do {
            guard Spool.writeAll(created.fd, message.bytes) == nil else {
                throw SpoolError.system(operation: "write", name: created.id.value, errno: errno)
            }
            try spool.commit(notification, dataFD: created.fd)
        } catch {
            logger.error("cannot queue a notice: \(error)", metadata: ["qid": "\(envelope.queueID)"])
            spool.abort(created.id)
            return false
        }
        messages[created.id] = notification
        let about = "notice=\(notice.event.rawValue) about \(envelope.queueID), to=<\(recipient.address)>"
        logger.info(
            "queued, from=<>, size=\(message.bytes.count), nrcpt=1, \(about)", metadata: ["qid": "\(created.id)"])
        return true
    }

    /// The start of the original message (at most `prefix` bytes) and its
    /// size; an unreadable data file gives an empty original, not no notice.
    private func readOriginal(_ id: QueueID, prefix: Int) -> DSNOriginalMessage {
        guard let fd = try? spool.openDataReadOnly(id) else { return DSNOriginalMessage(bytes: []) }
        defer { close(fd) }
        var info = stat()
        let total = fstat(fd, &info) == 0 ? Int(info.st_size) : 0
        var bytes = [UInt8](repeating: 0, count: min(prefix, max(total, 0)))
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeMutableBytes { buffer -> Int in
                guard let base = buffer.baseAddress else { return -1 }
                return pread(fd, base + offset, buffer.count - offset, off_t(offset))
            }
            if n <= 0 { break }
            offset += n
        }
        return DSNOriginalMessage(prefix: Array(bytes[..<offset]), totalSize: total)
    }

    func persist(_ envelope: Envelope, durable: Bool) {
        do {
            try spool.update(envelope, durable: durable)
        } catch {
            logger.error("cannot update control file: \(error)", metadata: ["qid": "\(envelope.queueID)"])
        }
    }
}
