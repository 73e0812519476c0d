import Glibc
import PosternCore
import PosternIPC
import PosternPrivilege

/// The relay process: user `postern-relay`, chrooted into the empty
/// directory, no capabilities. Remote delivery (the SMTP client, MX routing,
/// outbound TLS) lives here; until that exists, the lookup refuses every
/// non-local recipient at RCPT, so the queue never routes a message here,
/// and any request is answered with a temporary failure rather than a
/// pretended delivery.
public enum RelayRole {
    public static func run(_ start: ChildStart) -> Never {
        let account = start.account(for: .relay)
        start.drop(PrivilegeDrop(account: account, chrootDirectory: start.config.emptyDirectory))
        let peers = PeerChannels()
        start.serveMaster(
            MasterHandlers(attach: { role, fd in
                guard role == .queue else {
                    close(fd)
                    return
                }
                let channel = start.openPeer(role, fd: fd) { channel, frame in
                    frame.descriptors.forEach { _ = close($0) }
                    try? channel.respond(
                        to: frame.requestID,
                        with: .rejected(
                            ReplyStatus(code: 451, enhanced: "4.4.0", text: "Remote delivery is not available")))
                }
                peers.replace(role, with: channel)
            }))
        try? start.master.send(.ready(.relay))
        while true { pause() }
    }
}
