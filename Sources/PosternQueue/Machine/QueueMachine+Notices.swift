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
///
/// Each notice is one `NoticeTask` from the policy's decision to its
/// outcome, waiting here for the lookup and then for the spool; its
/// `NoticePurpose` says what the outcome leads to.
extension QueueMachine {
    /// Recipients that failed while others are still pending are reported
    /// now, not when the last one is done (which may be days away): the
    /// sender learns of a 550 in minutes, as Sendmail's queue run tells it.
    /// Reported recipients get NOTIFY=NEVER, so the final notice does not
    /// repeat them. Only for clients' messages: a notice's own failures go
    /// through the double-bounce rules at the end.
    mutating func reportFailuresNow(_ envelope: Envelope, now: Int64, _ actions: inout [QueueAction]) {
        guard envelope.notice == .none, !envelope.sender.isEmpty, !notifying.contains(envelope.queueID),
            envelope.recipients.contains(where: { $0.state == .failed && $0.notify != .never })
        else { return }
        notifying.insert(envelope.queueID)
        sendNotice(envelope, event: .failed, for: .failuresNow, now: now, &actions)
    }

    /// The delay warning, once: `warned` is set when it is queued (or when
    /// nobody is to be told).
    mutating func warnDelayed(_ envelope: Envelope, now: Int64, _ actions: inout [QueueAction]) {
        guard !notifying.contains(envelope.queueID) else { return }
        notifying.insert(envelope.queueID)
        sendNotice(envelope, event: .delayed, for: .delayWarning, now: now, &actions)
    }

    /// One notice for one event, if the policy says so.
    mutating func sendNotice(
        _ envelope: Envelope, event: DSNEvent, for purpose: NoticePurpose, now: Int64, _ actions: inout [QueueAction]
    ) {
        switch policy.decide(envelope, event: event, isDoubleBounce: envelope.notice == .doubleBounce) {
        case .silent:
            noticeDone(envelope.queueID, purpose, .done(envelope), now: now, &actions)
        case .dropDoubleBounce(let failed):
            let addresses = failed.map { "<\(envelope.recipients[$0].address)>" }.joined(separator: ", ")
            actions.append(
                .log(.warning("double bounce to \(addresses) undeliverable: dropped, never answered", envelope.queueID))
            )
            noticeDone(envelope.queueID, purpose, .done(envelope), now: now, &actions)
        case .notifySender(let notice), .notifyPostmaster(let notice):
            let task = NoticeTask(purpose: purpose, envelope: envelope, event: event, notice: notice, stage: .resolving)
            lookUpRecipient(of: task, now: now, &actions)
        }
    }

    /// Asks the lookup where the notice goes, as it would for a RCPT from a
    /// client that may relay (a bounce to a remote sender is relayed).
    /// Without a lookup the answer is "unavailable" at once.
    private mutating func lookUpRecipient(of task: NoticeTask, now: Int64, _ actions: inout [QueueAction]) {
        guard peers[.lookup] != nil else { return noticeRecipientFound(task, .unavailable, now: now, &actions) }
        let tag = newTag()
        notices[tag] = task
        actions.append(.lookUp(address: task.address, .notice(tag)))
    }

    mutating func noticeLookedUp(_ tag: UInt64, _ answer: LookupAnswer, now: Int64, _ actions: inout [QueueAction]) {
        guard let task = notices.removeValue(forKey: tag) else { return }
        noticeRecipientFound(task, answer, now: now, &actions)
    }

    private mutating func noticeRecipientFound(
        _ task: NoticeTask, _ answer: LookupAnswer, now: Int64, _ actions: inout [QueueAction]
    ) {
        let id = task.envelope.queueID
        let notice = task.notice
        let recipient: Recipient?
        switch answer {
        case .local(let user): recipient = Recipient(address: task.address, localUser: user, notify: .never)
        case .remote(let routed): recipient = Recipient(address: routed, localUser: "", notify: .never)
        case .refused, .unavailable: recipient = nil
        }
        switch task.stage {
        case .resolving:
            if let recipient { return write(notice, to: recipient, task, now: now, &actions) }
            switch answer {
            case .refused(let reason) where !notice.isDoubleBounce && task.event == .failed:
                // The sender cannot be reached: the postmaster hears of it instead.
                actions.append(
                    .log(.info("bounce to <\(notice.recipient)> refused (\(reason)); telling the postmaster", id)))
                var escalating = task
                escalating.stage = .escalating(
                    DSNNotice(
                        event: .failed, recipient: policy.doubleBounceAddress,
                        reportedRecipients: notice.reportedRecipients, isDoubleBounce: true))
                lookUpRecipient(of: escalating, now: now, &actions)
            case .refused(let reason):
                actions.append(
                    .log(
                        .warning(
                            "\(task.event.rawValue) notice to <\(notice.recipient)> refused (\(reason)): dropped", id)))
                noticeDone(id, task.purpose, .done(Self.markReported(task.envelope, notice)), now: now, &actions)
            case .local, .remote, .unavailable:
                noticeDone(id, task.purpose, .later(task.envelope), now: now, &actions)
            }
        case .escalating(let escalated):
            guard let postmaster = recipient else {
                actions.append(.log(.warning("the postmaster cannot be reached either: notice dropped", id)))
                return noticeDone(
                    id, task.purpose, .done(Self.markReported(task.envelope, notice)), now: now, &actions)
            }
            write(escalated, to: postmaster, task, now: now, &actions)
        case .writing:
            break
        }
    }

    /// Asks the driver to compose the notice under a fresh queue id and
    /// commit it like a message from a client.
    private mutating func write(
        _ notice: DSNNotice, to recipient: Recipient, _ task: NoticeTask, now: Int64, _ actions: inout [QueueAction]
    ) {
        var task = task
        task.stage = .writing(notice, to: recipient)
        let tag = newTag()
        notices[tag] = task
        let envelope = task.envelope
        let timing = DSNTiming(
            date: RFC5322Date.format(epochSeconds: now),
            arrivalDate: RFC5322Date.format(epochSeconds: envelope.arrival),
            lastAttemptDate: envelope.attempts > 0 ? RFC5322Date.format(epochSeconds: now) : nil,
            willRetryUntil: notice.event == .delayed
                ? RFC5322Date.format(epochSeconds: envelope.arrival + Int64(settings.queueReturn)) : nil)
        actions.append(
            .writeNotice(
                NoticeOrder(
                    tag: tag, notice: notice, about: envelope, recipient: recipient, timing: timing,
                    composer: DSNComposer(hostname: settings.hostname, privacy: settings.dsnPrivacy), now: now)))
    }

    mutating func noticeWritten(
        _ tag: UInt64, _ result: NoticeWriteResult, now: Int64, _ actions: inout [QueueAction]
    ) {
        guard let task = notices[tag], case .writing(let written, let recipient) = task.stage else { return }
        notices[tag] = nil
        let id = task.envelope.queueID
        let reported = Self.markReported(task.envelope, task.notice)
        switch result {
        case .queued(let notification):
            messages[notification.queueID] = notification
            let about = "notice=\(written.event.rawValue) about \(id), to=<\(recipient.address)>"
            actions.append(
                .log(.info("queued, from=<>, size=\(notification.size), nrcpt=1, \(about)", notification.queueID)))
            noticeDone(id, task.purpose, .done(reported), now: now, &actions)
        case .notComposed(let error):
            actions.append(.log(.error("cannot compose a notice: \(error)", id)))
            // Nothing will ever compose it: do not retry forever.
            noticeDone(id, task.purpose, .done(reported), now: now, &actions)
        case .notCreated(let error):
            actions.append(.log(.error("cannot create a notice: \(error)", id)))
            noticeDone(id, task.purpose, .later(task.envelope), now: now, &actions)
        case .notQueued(let error):
            actions.append(.log(.error("cannot queue a notice: \(error)", id)))
            noticeDone(id, task.purpose, .later(task.envelope), now: now, &actions)
        }
    }

    /// Where a notice's outcome leads.
    private mutating func noticeDone(
        _ id: QueueID, _ purpose: NoticePurpose, _ outcome: NoticeOutcome, now: Int64, _ actions: inout [QueueAction]
    ) {
        switch (purpose, outcome) {
        case (.finalFailures, .done(let afterFailures)):
            sendNotice(afterFailures, event: .delivered, for: .finalSuccesses(afterFailures), now: now, &actions)
        case (.finalFailures, .later):
            finalNoticesDone(id, outcome, &actions)
        case (.finalSuccesses, .done):
            finalNoticesDone(id, outcome, &actions)
        case (.finalSuccesses(let afterFailures), .later):
            finalNoticesDone(id, .later(afterFailures), &actions)
        case (.failuresNow, _):
            notifying.remove(id)
            guard case .done(let reported) = outcome, messages[id] != nil else { return }
            messages[id] = reported
            actions.append(.persist(reported, durable: true))
        case (.delayWarning, _):
            notifying.remove(id)
            guard case .done = outcome, var current = messages[id] else { return }
            current.warned = true
            messages[id] = current
            actions.append(.persist(current, durable: true))
        }
    }

    /// `finish`'s notices are done: the message leaves the queue, or is
    /// kept with what was reported so far and the next tick tries again.
    private mutating func finalNoticesDone(_ id: QueueID, _ outcome: NoticeOutcome, _ actions: inout [QueueAction]) {
        notifying.remove(id)
        switch outcome {
        case .done(let reported):
            remove(reported, &actions)
        case .later(let reported):
            messages[id] = reported
            actions.append(.persist(reported, durable: true))
        }
    }

    /// The reported recipients will not be reported on again: their NOTIFY
    /// becomes NEVER (kept in the control file, so a restart does not
    /// repeat the notice).
    static func markReported(_ envelope: Envelope, _ notice: DSNNotice) -> Envelope {
        // A delay warning is remembered by `warned`; the failure or success
        // that follows it is still owed.
        guard notice.event != .delayed else { return envelope }
        var updated = envelope
        for index in notice.reportedRecipients where updated.recipients.indices.contains(index) {
            updated.recipients[index].notify = .never
        }
        return updated
    }

    private var policy: DSNPolicy { DSNPolicy(privacy: settings.dsnPrivacy) }
}
