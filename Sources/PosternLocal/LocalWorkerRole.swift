import Glibc
import Logging
import PosternCore
import PosternIPC
import PosternPrivilege

/// A delivery worker: spawned by `local` for one recipient user. Its first
/// frame names the user; it becomes that user (uid, gid, the user's groups
/// and the mail group), clears its capabilities, and only then opens a
/// mailbox. It serves deliveries for that user alone, one at a time, until
/// `local` closes its channel.
///
/// Its bounding set stays what `local` had (dropping it needs CAP_SETPCAP,
/// which `local` does not hold): with a non-zero uid, empty permitted and
/// effective sets and no_new_privs, nothing it executes can regain them.
public enum LocalWorkerRole {
    public static func run(logMode: String) -> Never {
        ChildStart.bootstrapLog(role: .localWorker, logMode: logMode)
        let logger = PosternLog.logger
        _ = close(0)
        let channel = IPCChannel(fd: ChildStart.masterChannelFD, peer: .local)
        let identity: WorkerIdentity
        do {
            guard let frame = try channel.receive(), case .assignWorker(let id) = frame.message else {
                logger.error("no user assignment")
                exit(1)
            }
            identity = id
        } catch {
            logger.error("bad first frame: \(error)")
            exit(1)
        }
        let account = SystemAccount(name: identity.user, uid: identity.uid, gid: identity.gid, home: identity.home)
        do {
            try PrivilegeDrop(
                account: account, groups: identity.groups.map { gid_t($0) }, chrootDirectory: nil, keep: [],
                dropBoundingSet: false
            ).apply()
        } catch {
            logger.critical("privilege drop to \(identity.user) failed: \(error)")
            exit(1)
        }
        let mailbox = MailboxLocation(directory: identity.mailDirectory, user: identity.user)
        while true {
            let frame: Frame?
            do {
                frame = try channel.receive()
            } catch {
                logger.error("bad frame from local: \(error)")
                exit(1)
            }
            guard let frame else { exit(0) }
            guard case .deliver(let job) = frame.message, let fd = frame.descriptors.first else {
                frame.descriptors.forEach { _ = close($0) }
                logger.error("unexpected \(frame.message.kind) from local")
                exit(1)
            }
            let outcomes = job.recipients.map { recipient -> RecipientOutcome in
                guard recipient.localUser == identity.user else {
                    // Never write for another user, whatever local asks.
                    return RecipientOutcome(index: recipient.index, status: .deferred, text: "4.3.0 wrong worker")
                }
                if !identity.homeMailbox.isEmpty {
                    return deliverToMaildir(job, recipient, fd: fd, identity: identity, logger: logger)
                }
                return deliver(job, recipient, fd: fd, mailbox: mailbox, uid: identity.uid, logger: logger)
            }
            close(fd)
            do {
                try channel.respond(to: frame.requestID, with: .deliveryResult(job.queueID, outcomes))
            } catch {
                exit(1)
            }
        }
    }

    /// `HomeMailbox`: the Maildir under the recipient's home.
    private static func deliverToMaildir(
        _ job: DeliveryJob, _ recipient: DeliveryRecipient, fd: Int32, identity: WorkerIdentity, logger: Logger
    ) -> RecipientOutcome {
        let headers = ["Return-Path: <\(job.sender)>", "Delivered-To: \(recipient.address)"]
        let place = identity.home + "/" + identity.homeMailbox
        do {
            let n = try MaildirDelivery.deliver(
                home: identity.home, maildir: identity.homeMailbox, messageFD: fd,
                expectedOwner: uid_t(identity.uid), extraHeaders: headers)
            return RecipientOutcome(
                index: recipient.index, status: .delivered, text: "delivered to maildir, \(n) bytes")
        } catch .unsafeMailbox(let reason) {
            logger.error("refusing maildir \(place): \(reason)", metadata: ["qid": "\(job.queueID)"])
            return RecipientOutcome(index: recipient.index, status: .deferred, text: "4.2.0 unsafe maildir: \(reason)")
        } catch {
            return RecipientOutcome(index: recipient.index, status: .deferred, text: "4.2.0 maildir: \(error)")
        }
    }

    private static func deliver(
        _ job: DeliveryJob, _ recipient: DeliveryRecipient, fd: Int32, mailbox: MailboxLocation, uid: UInt32,
        logger: Logger
    ) -> RecipientOutcome {
        let headers = [
            "Return-Path: <\(job.sender)>",
            "Delivered-To: \(recipient.address)",
        ]
        do {
            let n = try MboxDelivery.deliver(
                path: mailbox.path, messageFD: fd, envelopeSender: job.sender, arrival: job.arrival,
                expectedOwner: uid_t(uid), extraHeaders: headers)
            return RecipientOutcome(
                index: recipient.index, status: .delivered, text: "delivered to mailbox, \(n) bytes")
        } catch .unsafeMailbox(let reason) {
            logger.error("refusing mailbox \(mailbox.path): \(reason)", metadata: ["qid": "\(job.queueID)"])
            return RecipientOutcome(index: recipient.index, status: .deferred, text: "4.2.0 unsafe mailbox: \(reason)")
        } catch {
            return RecipientOutcome(index: recipient.index, status: .deferred, text: "4.2.0 mailbox: \(error)")
        }
    }
}

/// Where a user's mbox lives: the configured mail directory and the user
/// name, which the lookup took from the passwd file (no slash possible).
struct MailboxLocation {
    let path: String

    init(directory: String, user: String) {
        path = directory + "/" + user.replacingSlashes()
    }
}

extension String {
    fileprivate func replacingSlashes() -> String {
        String(self.map { $0 == "/" ? "_" : $0 })
    }
}
