import Glibc
import Logging
import PosternCore

/// Outbound TLS, set up before the chroot: one client context with the CA
/// bundle read while the file is still reachable, and the starter the
/// sessions call when a server accepts STARTTLS.
enum OutboundTLS {
    static func prepare(config: PosternConfig, logger: Logger) -> TLSStarter? {
        let context: OutboundTLSContext
        do {
            context = try OutboundTLSContext(caBundlePath: config.relay.tlsCAFile)
        } catch {
            logger.error("outbound TLS is not available: \(error)")
            return nil
        }
        if let problem = context.trustStoreProblem {
            logger.warning("no CA bundle for outbound TLS (\(problem)): destinations with policy verify are deferred")
        }
        let starter: TLSStarter = { fd, host, verify, deadline in
            do throws(OutboundTLSError) {
                let session = try OutboundTLSSession(
                    context: context, socket: fd, peerName: host, verify: verify,
                    deadline: MonotonicDeadline(instant: deadline))
                return .success((TLSTransport(session: session, fd: fd), session.info.description))
            } catch .timedOut(_) {
                return .failure(.timedOut)
            } catch {
                return .failure(.failed("\(error)"))
            }
        }
        return starter
    }
}

/// The connection's bytes through TLS once STARTTLS succeeded.
final class TLSTransport: RelayTransport {
    private let session: OutboundTLSSession
    private let fd: Int32
    private var closed = false

    init(session: OutboundTLSSession, fd: Int32) {
        self.session = session
        self.fd = fd
    }

    func read(max: Int, deadline: Double?) throws(TransportError) -> [UInt8] {
        var bytes: [UInt8] = []
        do {
            _ = try session.read(
                into: &bytes, maximum: max,
                deadline: MonotonicDeadline(instant: deadline ?? MonotonicClock.now() + 300))
            return bytes
        } catch .timedOut(_) {
            throw .timedOut
        } catch {
            throw .closed
        }
    }

    func write(_ bytes: [UInt8], deadline: Double) throws(TransportError) {
        do {
            try session.write(bytes, deadline: MonotonicDeadline(instant: deadline))
        } catch .timedOut(_) {
            throw .timedOut
        } catch {
            throw .closed
        }
    }

    func close() {
        guard !closed else { return }
        closed = true
        session.shutdown()
        _ = Glibc.close(fd)
    }
}
