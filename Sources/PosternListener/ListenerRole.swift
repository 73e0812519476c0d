import Glibc
import Logging
import NIOCore
import NIOPosix
import PosternCore
import PosternIPC
import PosternPrivilege

/// The listener: user `postern-smtpd`, chrooted into the empty directory,
/// no capabilities. It speaks SMTP on the sockets the master bound and
/// passed in, asks `lookup` for every policy decision, and streams each
/// message into a spool file whose descriptor the queue handed it. It can
/// open no file, reach no map, and hold no secret.
public enum ListenerRole {
    public static func run(_ start: ChildStart) -> Never {
        let account = start.account(for: .listener)
        start.drop(PrivilegeDrop(account: account, chrootDirectory: start.config.emptyDirectory))
        // Threads only after the drop: capabilities are per thread.
        let group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, System.coreCount))
        let server = SMTPServer(config: start.config, group: group, logger: start.logger)
        start.serveMaster(
            MasterHandlers(
                attach: { role, fd in
                    guard role == .lookup || role == .queue else {
                        close(fd)
                        return
                    }
                    let channel = start.openPeer(role, fd: fd) { channel, frame in
                        // Neither peer sends the listener requests.
                        frame.descriptors.forEach { _ = close($0) }
                        start.reportViolation(by: role, reason: "unexpected \(frame.message.kind)")
                        channel.shutdown()
                    }
                    server.services.replace(role, with: channel)
                },
                reload: { server.update(config: $0) },
                shutdown: { server.drainAndExit(timeout: start.config.shutdownTimeout) },
                other: { frame in
                    if case .listenSocket(let address) = frame.message, let fd = frame.descriptors.first {
                        server.listen(fd: fd, address: address)
                    } else {
                        frame.descriptors.forEach { _ = close($0) }
                    }
                }))
        try? start.master.send(.ready(.listener))
        while true { pause() }
    }
}
