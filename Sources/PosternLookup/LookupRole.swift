import Glibc
import Logging
import PosternCore
import PosternIPC
import PosternPrivilege

/// The lookup process: user `postern-lookup`, chrooted read-only into the
/// configuration directory, no capabilities. It answers every policy
/// question (here: is this recipient ours and does the user exist) and is
/// the only process that will see secrets. It reads /etc/passwd through a
/// descriptor the master hands it, since the file is outside its root.
public enum LookupRole {
    public static func run(_ start: ChildStart) -> Never {
        let account = start.account(for: .lookup)
        start.drop(PrivilegeDrop(account: account, chrootDirectory: start.config.configDirectory))
        let state = LookupState(config: start.config, logger: start.logger)
        let peers = PeerChannels()
        start.serveMaster(
            MasterHandlers(
                attach: { role, fd in
                    guard role == .listener || role == .queue else {
                        close(fd)
                        return
                    }
                    let channel = start.openPeer(role, fd: fd) { channel, frame in
                        state.handle(frame, from: channel)
                    }
                    peers.replace(role, with: channel)
                },
                reload: { state.update(config: $0) },
                other: { frame in
                    if case .userDatabase = frame.message, let fd = frame.descriptors.first {
                        state.loadUsers(from: fd)
                        close(fd)
                    } else {
                        frame.descriptors.forEach { _ = close($0) }
                    }
                }))
        try? start.master.send(.ready(.lookup))
        while true { pause() }
    }
}

/// The lookup's tables, read by several channel threads.
final class LookupState: @unchecked Sendable {
    private let lock = Lock()
    private var policy: RecipientPolicy
    private let logger: Logger

    init(config: PosternConfig, logger: Logger) {
        self.policy = RecipientPolicy(localDomains: config.localDomains, users: [])
        self.logger = logger
    }

    func update(config: PosternConfig) {
        lock.withLock { policy.localDomains = config.localDomains.map { $0.lowercased() } }
        logger.info("configuration reloaded")
    }

    func loadUsers(from fd: Int32) {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        var offset: off_t = 0
        while bytes.count < 64 << 20 {
            let n = pread(fd, &chunk, chunk.count, offset)
            if n <= 0 { break }
            bytes.append(contentsOf: chunk[0..<n])
            offset += off_t(n)
        }
        let users = PasswdFile.userNames(bytes)
        lock.withLock { policy.users = users }
        logger.info("user database loaded, users=\(users.count)")
    }

    func handle(_ frame: Frame, from channel: IPCChannel) {
        switch frame.message {
        case .checkRecipient(let address, _):
            let answer = lock.withLock { policy.decide(address) }
            try? channel.respond(to: frame.requestID, with: answer)
        default:
            frame.descriptors.forEach { _ = close($0) }
            try? channel.respond(
                to: frame.requestID,
                with: .rejected(ReplyStatus(code: 451, enhanced: "4.3.0", text: "Unsupported lookup request")))
        }
    }
}
