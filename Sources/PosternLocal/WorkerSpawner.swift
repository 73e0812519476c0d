import CShims
import Glibc
import PosternCore
import PosternIPC
import PosternPrivilege

/// Starts one delivery worker for a key: the account looked up, the
/// worker's identity and groups decided, the process spawned on a fresh
/// socketpair and told whom to become. The pool's driver calls it for the
/// machine's `spawn` and reports the outcome back as an event.
struct WorkerSpawner {
    var config: PosternConfig
    let mailGroup: gid_t
    let logMode: String

    /// - Parameter onClose: runs on the worker channel's reader thread when
    ///   the channel ends, with the violation if it ended on one.
    func spawn(
        _ key: WorkerKey, onClose: @escaping @Sendable (pid_t, String?) -> Void
    ) -> Result<WorkerProcess, WorkerSpawnFailure> {
        let (name, jailed) = (key.user, key.jailed)
        let account: SystemAccount
        do {
            account = try SystemAccount.lookup(name)
        } catch {
            return .failure(.unknownUser)
        }
        guard account.uid != 0 || !jailed else { return .failure(.fileDeliveryAsRoot) }
        // The mail group is for the mbox directory; a file worker has no
        // business there.
        let groups = Array(Set(account.supplementaryGroups() + (jailed ? [] : [mailGroup]))).map { UInt32($0) }.sorted()
        let identity = WorkerIdentity(
            user: name, uid: account.uid, gid: account.gid, groups: groups, home: account.home,
            mailDirectory: config.mailDirectory, homeMailbox: config.homeMailbox,
            smrshDirectory: config.smrshDirectory, pipeTimeout: UInt32(config.addressing.pipeTimeout),
            jail: jailed ? config.safeFileEnvironment : "", hostname: config.primaryDomain)
        do {
            let (mine, theirs) = try ChildSpawn.socketPair()
            let devNull = open("/dev/null", O_WRONLY | O_CLOEXEC)
            defer {
                close(theirs)
                if devNull >= 0 { close(devNull) }
            }
            let pid: pid_t
            do {
                pid = try ChildSpawn.spawn(
                    role: .localWorker, arguments: [logMode], descriptors: [-1, devNull, 2, theirs])
            } catch {
                close(mine)
                throw error
            }
            let channel = IPCChannel(fd: mine, peer: .localWorker, local: .local)
            try channel.send(.assignWorker(identity))
            // Nobody reaps the worker before its channel starts: the pid is still its.
            let pidfd = pst_pidfd_open(pid)
            channel.start(
                onRequest: { frame in frame.descriptors.forEach { _ = close($0) } },
                onClose: { reason in
                    if case .violation(let why) = reason {
                        onClose(pid, why)
                    } else {
                        onClose(pid, nil)
                    }
                })
            return .success(WorkerProcess(pid: pid, uid: account.uid, channel: channel, pidfd: pidfd))
        } catch {
            return .failure(.cannotStart(reason: "\(error)"))
        }
    }
}
