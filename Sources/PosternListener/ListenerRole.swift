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
    public static let manifest = RoleManifest(
        role: .listener, identity: .systemUser("postern-smtpd"), root: .emptyDirectory,
        peers: [.lookup, .queue], handedOver: [.listeningSockets],
        job: "SMTP on the listening sockets; asks the lookup every policy question, streams messages into spool files")

    public static func run(_ start: ChildStart) -> Never {
        // The key is read as root, before the chroot; afterwards this
        // process could not open it again, nor anything else.
        let tls = loadTLS(start.config.security, logger: start.logger)
        start.dropPrivileges()
        // Threads only after the drop: capabilities are per thread.
        let group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, System.coreCount))
        let server = SMTPServer(config: start.config, group: group, logger: start.logger, tlsContext: tls)
        start.serveMaster(
            MasterHandlers(
                attach: { role, fd in
                    let channel = start.openPeer(role, fd: fd) { channel, frame in
                        // The queue's report of the spool's free space is
                        // the one message a peer sends unasked.
                        if role == .queue, case .spoolSpace(let free) = frame.message, frame.descriptors.isEmpty {
                            server.spoolSpace(freeBytes: free)
                            return
                        }
                        frame.descriptors.forEach { _ = close($0) }
                        start.reportViolation(by: role, reason: "unexpected \(frame.message.kind)")
                        channel.shutdown()
                    }
                    if role == .queue {
                        // A spool file opened after its session gave up
                        // waiting (Timeout.ipc): closed, and given back.
                        channel.onLateResponse { [weak channel] frame in
                            frame.descriptors.forEach { _ = close($0) }
                            if case .messageOpened(let id) = frame.message { try? channel?.send(.abortMessage(id)) }
                        }
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
                },
                health: { answer in server.onEveryEventLoop(answer) }))
        try? start.master.send(.ready(.listener))
        while true { pause() }
    }

    /// A configured certificate that does not load stops the listener: mail
    /// must not quietly go in cleartext because a key file was mistyped.
    private static func loadTLS(_ security: SecurityConfig, logger: Logger) -> TLSContext? {
        guard let certificate = security.tlsCertificateFile, let key = security.tlsKeyFile else { return nil }
        let configuration = TLSConfiguration(
            certificateChainPath: certificate, privateKeyPath: key,
            minimumVersion: TLSVersion(security.tlsMinVersion), cipherList: security.tlsCipherList,
            cipherSuites: security.tlsCipherSuites, requestClientCertificate: security.tlsRequestClientCertificate,
            caFilePath: security.tlsCAFile)
        do {
            let context = try TLSContext(configuration)
            logger.info("TLS certificate \(certificate) loaded")
            return context
        } catch {
            logger.critical("cannot load TLS certificate \(certificate) and key \(key): \(error)")
            exit(1)
        }
    }
}
