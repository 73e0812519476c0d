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
    /// Spawned by `local`, not by the master; a file worker chroots into
    /// SafeFileEnvironment before it becomes the recipient.
    public static let manifest = RoleManifest(
        role: .localWorker, identity: .recipient, root: .none, peers: [.local],
        job: "writes one user's mail (mbox, Maildir, pipes, files), as that user")

    public static func run(logMode: String) -> Never {
        ChildStart.bootstrapLog(role: .localWorker, logMode: logMode)
        let logger = PosternLog.logger
        _ = close(0)
        let channel = IPCChannel(fd: ChildStart.masterChannelFD, peer: .local, local: .localWorker)
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
        // A file worker chroots into the SafeFileEnvironment first (it still
        // holds CAP_SYS_CHROOT), then becomes the user: every path it opens
        // is inside the jail, opened with the user's rights.
        let jail = identity.jail.isEmpty ? nil : identity.jail
        do {
            try PrivilegeDrop(
                account: account, groups: identity.groups.map { gid_t($0) }, chrootDirectory: jail, keep: [],
                dropBoundingSet: false
            ).apply()
        } catch {
            logger.critical("privilege drop to \(identity.user) failed: \(error)")
            exit(1)
        }
        // A program that exits without reading its input must cost an EPIPE
        // on the write, not this worker.
        signal(SIGPIPE, SIG_IGN)
        let delivery = WorkerDelivery(identity: identity, logger: logger)
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
            let outcomes = job.recipients.map { delivery.deliver(job, $0, messageFD: fd) }
            close(fd)
            do {
                try channel.respond(to: frame.requestID, with: .deliveryResult(job.queueID, outcomes))
            } catch {
                exit(1)
            }
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
