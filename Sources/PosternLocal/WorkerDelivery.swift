import Glibc
import Logging
import NIOConcurrencyHelpers
import PosternAliases
import PosternCore
import PosternIPC

/// What a delivery worker does for one recipient, by its target: the
/// user's `.forward` and mailbox, a pipe through smrsh, a Maildir under the
/// home, or (in a worker chrooted into the SafeFileEnvironment) a file.
/// Everything here runs as the recipient's user, never for another.
struct WorkerDelivery {
    let identity: WorkerIdentity
    let logger: Logger

    func deliver(_ job: DeliveryJob, _ recipient: DeliveryRecipient, messageFD fd: Int32) -> RecipientOutcome {
        guard recipient.localUser == identity.user else {
            // Never write for another user, whatever local asks.
            return outcome(recipient, .deferred, "4.3.0 wrong worker")
        }
        let qid = job.queueID
        if !identity.jail.isEmpty {
            // A file worker writes files only.
            guard case .file(let path) = recipient.target else {
                return outcome(recipient, .deferred, "4.3.0 wrong worker")
            }
            return deliverToFile(path, job, recipient, fd: fd)
        }
        switch recipient.target {
        case .name, .user:
            if let forwarded = forward(job, recipient) { return forwarded }
            return deliverToMailbox(job, recipient, fd: fd)
        case .mailbox:
            return deliverToMailbox(job, recipient, fd: fd)
        case .pipe(let command):
            let (local, domain) = Self.split(recipient.address)
            let context = PipeDeliveryContext(
                sender: job.sender, recipient: recipient.address,
                originalRecipient: recipient.originalRecipient, local: local, domain: domain, queueID: qid.value,
                deliveryID: Self.deliveryID(job, recipient), user: identity.user, home: identity.home)
            let result = PipeDelivery.deliver(
                command: command, smrshDirectory: identity.smrshDirectory, context: context, messageFD: fd,
                extraHeaders: headers(job, recipient),
                options: PipeDelivery.Options(timeLimit: .seconds(Int(max(identity.pipeTimeout, 1)))))
            logger.info(
                "pipe \(LogText.shown(command)) as \(identity.user): \(result.text)", metadata: ["qid": "\(qid)"])
            return outcome(recipient, result.status, result.text)
        case .file(let path) where path.hasSuffix("/"):
            return deliverToMaildir(path, job, recipient, fd: fd)
        case .file:
            return outcome(recipient, .deferred, "4.3.0 wrong worker")
        }
    }

    private func outcome(_ r: DeliveryRecipient, _ status: RecipientOutcome.Status, _ text: String) -> RecipientOutcome
    {
        RecipientOutcome(index: r.index, status: status, text: text)
    }

    private func headers(_ job: DeliveryJob, _ recipient: DeliveryRecipient) -> [String] {
        ["Return-Path: <\(job.sender)>", "Delivered-To: \(recipient.address)"]
    }

    /// The `.forward`'s members, or nil to deliver to the mailbox (no file,
    /// an unsafe one, or one that names nothing usable).
    private func forward(_ job: DeliveryJob, _ recipient: DeliveryRecipient) -> RecipientOutcome? {
        let qid = ["qid": Logger.MetadataValue.string("\(job.queueID)")]
        switch ForwardFile.read(home: identity.home, uid: uid_t(identity.uid)) {
        case .absent:
            return nil
        case .unsafe(let reason):
            logger.warning("ignoring .forward of \(identity.user): \(reason)", metadata: qid)
            return nil
        case .text(let text):
            let file = identity.home + "/.forward"
            let (parsed, problems) = AliasesFile.parseTargetList(text: text, file: file)
            for problem in problems { logger.warning("\(problem)", metadata: qid) }
            guard case .success(let targets) = parsed else {
                logger.warning("ignoring .forward of \(identity.user): too many entries", metadata: qid)
                return nil
            }
            let (members, skipped) = ForwardMembers.members(
                targets, user: identity.user, home: identity.home, address: recipient.address,
                hostname: identity.hostname)
            for item in skipped { logger.warning("\(file): skipped \(item)", metadata: qid) }
            guard !members.isEmpty else { return nil }
            return RecipientOutcome(
                index: recipient.index, status: .expanded,
                text: "forwarded by \(file) to \(members.count) recipients", expansion: members)
        }
    }

    private func deliverToMailbox(_ job: DeliveryJob, _ recipient: DeliveryRecipient, fd: Int32) -> RecipientOutcome {
        if !identity.homeMailbox.isEmpty {
            return deliverToMaildir(identity.home + "/" + identity.homeMailbox, job, recipient, fd: fd)
        }
        let path = MailboxLocation(directory: identity.mailDirectory, user: identity.user).path
        do {
            let once = DeliveryOnce(id: Self.deliveryID(job, recipient), maybeDelivered: recipient.maybeDelivered)
            let report = try MboxDelivery.deliver(
                path: path, messageFD: fd, envelopeSender: job.sender, arrival: job.arrival,
                expectedOwner: uid_t(identity.uid), extraHeaders: headers(job, recipient), once: once)
            return delivered(report, to: "mailbox", job, recipient)
        } catch .unsafeMailbox(let reason) {
            logger.error("refusing mailbox \(path): \(reason)", metadata: ["qid": "\(job.queueID)"])
            return outcome(recipient, .deferred, "4.2.0 unsafe mailbox: \(reason)")
        } catch {
            return outcome(recipient, .deferred, "4.2.0 mailbox: \(error)")
        }
    }

    /// A Maildir below the user's home only: the checks that make Maildir
    /// delivery safe (every component the user's, nothing followed) start
    /// at the home. Elsewhere a Maildir would have to be a SafeFileEnvironment
    /// file, which it is not.
    private func deliverToMaildir(_ path: String, _ job: DeliveryJob, _ recipient: DeliveryRecipient, fd: Int32)
        -> RecipientOutcome
    {
        let home = identity.home.hasSuffix("/") ? String(identity.home.dropLast()) : identity.home
        guard path.hasPrefix(home + "/"), path.count > home.count + 1 else {
            return outcome(
                recipient, .failed, "5.7.1 Maildir \(LogText.shown(path)) is not below the home of \(identity.user)")
        }
        let relative = String(path.dropFirst(home.count + 1))
        do {
            let once = MaildirOnce(
                arrival: job.arrival, deliveryID: Self.deliveryID(job, recipient),
                maybeDelivered: recipient.maybeDelivered)
            let report = try MaildirDelivery.deliver(
                home: home, maildir: relative, messageFD: fd, expectedOwner: uid_t(identity.uid),
                extraHeaders: headers(job, recipient), once: once)
            return delivered(report, to: "maildir", job, recipient)
        } catch .unsafeMailbox(let reason) {
            logger.error("refusing maildir \(path): \(reason)", metadata: ["qid": "\(job.queueID)"])
            return outcome(recipient, .deferred, "4.2.0 unsafe maildir: \(reason)")
        } catch {
            return outcome(recipient, .deferred, "4.2.0 maildir: \(error)")
        }
    }

    /// In the chroot: the path with the jail's prefix taken off, resolved
    /// from "/" (the jail), nothing followed.
    private func deliverToFile(_ target: String, _ job: DeliveryJob, _ recipient: DeliveryRecipient, fd: Int32)
        -> RecipientOutcome
    {
        let qid = ["qid": Logger.MetadataValue.string("\(job.queueID)")]
        do throws(SafeFileError) {
            let path = try SafeFilePath(target: target, jail: identity.jail)
            let root = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            guard root >= 0 else { return outcome(recipient, .deferred, "4.3.0 cannot open the jail's root") }
            defer { close(root) }
            let n = try SafeFileDelivery.deliver(
                to: path, root: root, messageFD: fd, envelopeSender: job.sender, arrival: job.arrival,
                extraHeaders: headers(job, recipient))
            logger.info("file \(identity.jail)\(path) as \(identity.user): \(n) bytes", metadata: qid)
            return outcome(recipient, .delivered, "delivered to file \(path), \(n) bytes")
        } catch {
            logger.error("file \(LogText.shown(target)) as \(identity.user): \(error)", metadata: qid)
            return outcome(recipient, error.isPermanent ? .failed : .deferred, "\(error.enhancedStatus) \(error)")
        }
    }

    /// The delivery's outcome, and what the writer found worth a log line.
    private func delivered(
        _ report: MboxDeliveryReport, to kind: String, _ job: DeliveryJob, _ recipient: DeliveryRecipient
    ) -> RecipientOutcome {
        let qid = ["qid": Logger.MetadataValue.string("\(job.queueID)")]
        for note in report.notes where !(note.hasPrefix("no delivery journal") && Self.journalWarned.testAndSet()) {
            logger.warning("\(kind) of \(identity.user): \(note)", metadata: qid)
        }
        if report.alreadyDelivered {
            logger.info(
                "to=<\(recipient.address)>: already in the \(kind) of \(identity.user) (an earlier attempt), not repeated",
                metadata: qid)
            return outcome(recipient, .delivered, "delivered to \(kind) by an earlier attempt")
        }
        return outcome(recipient, .delivered, "delivered to \(kind), \(report.bytes) bytes")
    }

    /// A missing journal is said once per worker, not at every message.
    private static let journalWarned = OnceFlag()

    static func deliveryID(_ job: DeliveryJob, _ recipient: DeliveryRecipient) -> String {
        DeliveryID.text(queueID: job.queueID.value, index: recipient.index)
    }

    static func split(_ address: String) -> (String, String) {
        guard let at = address.lastIndex(of: "@") else { return (address, "") }
        return (String(address[..<at]), String(address[address.index(after: at)...]))
    }
}

/// Text from a map or a client, made safe for one log line.
enum LogText {
    static func shown(_ text: String) -> String {
        String(
            String.UnicodeScalarView(
                text.unicodeScalars.prefix(300).map { $0.value < 0x20 || $0.value == 0x7F ? "?" : $0 }))
    }
}

/// True the first time only (a worker is single-threaded; the lock keeps
/// it honest anyway).
final class OnceFlag: Sendable {
    private let done = NIOLockedValueBox(false)

    /// Whether it was already set; sets it.
    func testAndSet() -> Bool {
        done.withLockedValue { done in
            defer { done = true }
            return done
        }
    }
}
