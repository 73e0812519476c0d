import Glibc
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import PosternCore
import PosternIPC
import SMTPProtocol

/// Accepts connections on the inherited listening sockets and runs one
/// `SMTPSessionHandler` per connection, within the connection limits.
final class SMTPServer: Sendable {
    let group: MultiThreadedEventLoopGroup
    let logger: Logger
    let services = PeerChannels()
    /// Loaded before the privilege drop; nil when no certificate is set.
    let tlsContext: TLSContext?
    private let state: NIOLockedValueBox<State>

    struct State {
        var config: PosternConfig
        var servers: [Channel] = []
        var limiter: ConnectionLimiter
        var mechanisms: [String]?
        var masquerader: Masquerader?
        var nextAuthExchange: UInt64 = 1
        var authFailures = AuthFailureTracker()
        /// The spool's free bytes as the queue last told (it alone can
        /// see the spool); unknown until it does.
        var spoolFree = UInt64.max
        /// Clients the lookup last called trusted (access map OK/RELAY):
        /// exempt from the per-client limits from their next connection.
        /// Bounded: forgotten wholesale past `maxTrustedClients`.
        var trustedClients: Set<String> = []
    }

    static let maxTrustedClients = 4_096

    /// Connections the kernel queues before the listener accepts them
    /// (capped by net.core.somaxconn).
    static let acceptBacklog: Int32 = 1024

    init(config: PosternConfig, group: MultiThreadedEventLoopGroup, logger: Logger, tlsContext: TLSContext?) {
        self.group = group
        self.logger = logger
        self.tlsContext = tlsContext
        self.state = NIOLockedValueBox(
            State(
                config: config,
                limiter: ConnectionLimiter(
                    maxTotal: config.maxConnections, maxPerClient: config.maxConnectionsPerClient,
                    maxRatePerClient: config.maxConnectionRatePerClient),
                masquerader: Self.masquerader(config)))
    }

    var config: PosternConfig { state.withLockedValue { $0.config } }

    /// The masquerading rules, built once per configuration; nil when they
    /// would change nothing.
    var masquerader: Masquerader? { state.withLockedValue { $0.masquerader } }

    static func masquerader(_ config: PosternConfig) -> Masquerader? { MasqueradeConfiguration.masquerader(config) }

    /// The lookup's SASL mechanisms, cached; a reload asks again.
    var mechanisms: [String]? {
        get { state.withLockedValue { $0.mechanisms } }
        set { state.withLockedValue { $0.mechanisms = newValue } }
    }

    /// Counts a failed AUTH of `client` across its sessions; the count
    /// sets how long the failure's answer waits.
    func recordAuthFailure(_ client: String) -> Int {
        state.withLockedValue { $0.authFailures.recordFailure(client, now: MonotonicClock.now()) }
    }

    func recordAuthSuccess(_ client: String) {
        state.withLockedValue { $0.authFailures.recordSuccess(client) }
    }

    /// The queue's report of the spool's free space.
    func spoolSpace(freeBytes: UInt64) {
        state.withLockedValue { $0.spoolFree = freeBytes }
    }

    /// Whether MAIL is refused for lack of spool space: less than
    /// QueueMinFree free, or less than that once a message of the declared
    /// SIZE is stored (Sendmail's MinFreeBlocks rule).
    func spoolTooFull(forMessageOf declaredSize: Int?) -> Bool {
        state.withLockedValue { state in
            let minimum = UInt64(max(state.config.queueMinFree, 0))
            let needed = minimum.addingReportingOverflow(UInt64(max(declaredSize ?? 0, 0)))
            return needed.overflow || state.spoolFree < needed.partialValue
        }
    }

    func nextAuthExchange() -> UInt64 {
        state.withLockedValue { state in
            defer { state.nextAuthExchange &+= 1 }
            return state.nextAuthExchange
        }
    }

    func update(config: PosternConfig) {
        state.withLockedValue {
            $0.config = config
            $0.mechanisms = nil
            $0.masquerader = Self.masquerader(config)
            $0.limiter.maxTotal = config.maxConnections
            $0.limiter.maxPerClient = config.maxConnectionsPerClient
            $0.limiter.maxRatePerClient = config.maxConnectionRatePerClient
        }
        logger.info("configuration reloaded")
    }

    func listen(fd: Int32, address: String) {
        let config = self.config
        let kind = (try? ListenAddress.parse(address)).map { config.kind(of: $0) } ?? .smtp
        let tls = tlsContext
        if kind.implicitTLS && tls == nil {
            logger.critical("cannot serve \(address): a submissions listener needs TLSCertificateFile")
            exit(1)
        }
        let bootstrap = ServerBootstrap(group: group)
            .childChannelOption(.socketOption(.so_keepalive), value: 1)
            // Nothing is read before the session asks (after the client
            // check); turning autoRead off later would also cancel the read
            // an implicit-TLS handshake has already asked for.
            .childChannelOption(.autoRead, value: false)
            // Replies beyond 64 KiB unread by the client stop its input
            // (SMTPSessionHandler), so the outbound buffer stays bounded.
            .childChannelOption(.writeBufferWaterMark, value: .init(low: 16 << 10, high: 64 << 10))
            .childChannelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    if kind.implicitTLS, let tls {
                        try channel.pipeline.syncOperations.addHandler(
                            TLSServerHandler(context: tls, handshakeTimeout: .seconds(Int64(config.commandTimeout))))
                    }
                    let handler = SMTPSessionHandler(
                        server: self, services: services, logger: logger, kind: kind, eventLoop: channel.eventLoop)
                    try channel.pipeline.syncOperations.addHandler(handler)
                }
            }
        do {
            let channel = try bootstrap.withBoundSocket(fd).wait()
            // NIO listens on an adopted socket with its default backlog of
            // 128 before any option applies; a burst of connections beyond
            // it overflows the accept queue, and Linux then drops the
            // client's final ACK: the client believes it is connected and
            // waits for a greeting that never comes. listen() again raises it.
            guard Glibc.listen(fd, SMTPServer.acceptBacklog) == 0 else {
                throw IOError(errnoCode: errno, reason: "listen")
            }
            state.withLockedValue { $0.servers.append(channel) }
            logger.info("listening on \(address) (\(kind.rawValue))")
        } catch {
            logger.critical("cannot serve \(address): \(error)")
            exit(1)
        }
    }

    /// Runs `body` once every event loop has run a task: the master's
    /// health check is answered only by a listener whose loops all turn.
    func onEveryEventLoop(_ body: @escaping @Sendable () -> Void) {
        let loops = Array(group.makeIterator())
        let remaining = NIOLockedValueBox(loops.count)
        for loop in loops {
            loop.execute {
                let done = remaining.withLockedValue { count -> Bool in
                    count -= 1
                    return count == 0
                }
                if done { body() }
            }
        }
    }

    /// Takes a session slot for a client, within the connection limits.
    /// The admission, and whether the session is exempt from the
    /// per-client limits: this host itself (127.0.0.1, ::1 — the other
    /// loopback addresses are other clients to the tests and to a
    /// container's neighbours), or a client the access map trusts.
    func openSession(for client: String) -> (ConnectionLimiter.Admission, exempt: Bool) {
        state.withLockedValue {
            let exempt = client == "127.0.0.1" || client == "::1" || $0.trustedClients.contains(client)
            return ($0.limiter.admit(client, now: MonotonicClock.now(), exempt: exempt), exempt)
        }
    }

    /// The lookup's verdict: remembered for the client's next connections,
    /// and a session admitted as an ordinary client that turns out trusted
    /// stops counting toward its client's limits. Whether the session is
    /// exempt now (a session admitted exempt stays so: the counts must
    /// balance when it closes).
    func learnTrust(of client: String, trusted: Bool, sessionExempt: Bool) -> Bool {
        state.withLockedValue {
            guard trusted else {
                $0.trustedClients.remove(client)
                return sessionExempt
            }
            if $0.trustedClients.count >= Self.maxTrustedClients { $0.trustedClients.removeAll() }
            $0.trustedClients.insert(client)
            if !sessionExempt { $0.limiter.exempt(client) }
            return true
        }
    }

    func closeSession(for client: String, exempt: Bool) {
        state.withLockedValue { $0.limiter.release(client, exempt: exempt) }
    }

    var sessionCount: Int { state.withLockedValue { $0.limiter.total } }

    /// SIGTERM path: stop accepting, let sessions end up to the bound, exit.
    func drainAndExit(timeout: Int) {
        let servers = state.withLockedValue { $0.servers }
        for s in servers { s.close(promise: nil) }
        logger.info("stopped accepting, sessions=\(sessionCount)")
        let deadline = MonotonicClock.now() + Double(timeout)
        while MonotonicClock.now() < deadline && sessionCount > 0 {
            usleep(20_000)
        }
        logger.info("stopped")
        exit(0)
    }
}
