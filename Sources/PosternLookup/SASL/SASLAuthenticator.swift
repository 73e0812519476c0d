import CSASL
import Glibc
import Logging
import PosternCore
import PosternIPC

/// SMTP AUTH for the listener: runs Cyrus SASL exchanges in the lookup,
/// the only process that may read the password store. All SASL work runs
/// on one serial queue of its own: saslauthd may block for as long as its
/// back end takes, and must not hold up the table lookups (MAIL, RCPT);
/// and one thread keeps Cyrus, whose thread safety rests on mutex hooks we
/// would have to trust, on one thread at a time. The exchange table is
/// touched only from that queue.
final class SASLAuthenticator: @unchecked Sendable {
    let queue = TaskQueue(threads: 1)
    private let logger: Logger
    private let clock: () -> Double
    private var table: SASLExchangeTable<SASLExchange>
    private var settings: SASLSettings
    /// Mechanisms advertised: the configured order, those Cyrus has,
    /// nonce-drawing ones only when /dev/urandom is reachable.
    private var offered: [String] = []
    private var randomAvailable: Bool

    /// Starts the authenticator's thread: call after the privilege drop,
    /// with `SASLLibrary.shared.start` already done before the chroot (this
    /// call starts Cyrus itself only where there is no chroot, as in the
    /// tests). Mechanisms that draw a nonce Cyrus would seed itself are
    /// withdrawn when the process's root has no /dev/urandom (see
    /// `SASLRandomSource`); that is an error only if `authCanBeOffered`
    /// (`SecurityConfig.authCanBeOffered`: a client could see AUTH at all).
    init(
        settings: SASLSettings, logger: Logger, authCanBeOffered: Bool = true, capacity: Int = 1024,
        idleLimit: Double = 600, clock: @escaping () -> Double = SASLAuthenticator.monotonicNow
    ) throws(SASLError) {
        self.logger = logger
        self.clock = clock
        self.settings = settings
        table = SASLExchangeTable(capacity: capacity, idleLimit: idleLimit)
        try SASLLibrary.shared.start(settings: settings, logger: logger)
        randomAvailable = SASLRandomSource.isAvailable()
        offered = Self.offerable(settings: settings, randomAvailable: randomAvailable)
        let withdrawn = Self.offerable(settings: settings, randomAvailable: true).filter { !offered.contains($0) }
        if let notice = SASLWithdrawalNotice.make(withdrawn: withdrawn, authCanBeOffered: authCanBeOffered) {
            logger.log(level: notice.level, "\(notice.text)")
        }
        queue.every(60) { [self] in table.expire(now: self.clock()) }
    }

    /// On reload: the host name, password check and paths follow at once;
    /// a changed mechanism list needs a restart (Cyrus reads its mechanism
    /// list once, at init, before the chroot).
    func update(settings new: SASLSettings) {
        SASLLibrary.shared.update(settings: new)
        queue.async { [self] in
            if new.mechanisms != settings.mechanisms {
                logger.warning("AuthMechanisms changed: SASL keeps the old list until a restart")
            }
            settings.hostname = new.hostname
            settings.passwordCheck = new.passwordCheck
            settings.sasldbPath = new.sasldbPath
            settings.saslauthdPath = new.saslauthdPath
            offered = Self.offerable(settings: settings, randomAvailable: randomAvailable)
        }
    }

    /// Answers one AUTH message. Runs on `queue`.
    func answer(_ message: IPCMessage, channel: ObjectIdentifier) -> IPCMessage {
        let now = clock()
        switch message {
        case .authMechanisms:
            return .mechanisms(offered)
        case .authStart(let request):
            return start(request, key: SASLExchangeKey(channel: channel, exchange: request.exchange), now: now)
        case .authStep(let exchange, let response):
            let key = SASLExchangeKey(channel: channel, exchange: exchange)
            guard let live = table.use(key, now: now) else {
                logger.info("auth failed: step for unknown exchange \(exchange)")
                return .rejected(SASLReplies.unknownExchange)
            }
            return finish(
                live.connection.step(response: response), key: key, mechanism: live.mechanism, client: live.client)
        case .authAbort(let exchange):
            table.remove(SASLExchangeKey(channel: channel, exchange: exchange))
            return .accepted
        default:
            return .rejected(SMTPReply(code: 451, enhanced: "4.3.0", text: "Unsupported lookup request"))
        }
    }

    /// How many exchanges are live (tests, and the table's bound).
    var liveExchanges: Int { table.count }

    private func start(_ request: AuthStart, key: SASLExchangeKey, now: Double) -> IPCMessage {
        table.remove(key)
        let client = SASLLogText.escaped(request.client.address)
        guard offered.contains(request.mechanism) else {
            logger.info(
                "auth failed: client=\(client), mechanism=\(SASLLogText.escaped(request.mechanism)): not offered")
            return .rejected(SASLReplies.unknownMechanism)
        }
        let connection: SASLConnection
        do {
            connection = try SASLConnection(hostname: settings.hostname)
        } catch {
            logger.error("auth failed: client=\(client): \(error)")
            return .rejected(SASLReplies.temporaryFailure)
        }
        let result = connection.start(mechanism: request.mechanism, initialResponse: request.initialResponse)
        if case .challenge = result {
            let live = SASLExchange(
                connection: connection, mechanism: request.mechanism, client: request.client.address)
            let dropped = table.insert(live, for: key, now: now)
            if dropped > 0 { logger.info("auth: dropped \(dropped) stale or excess exchanges") }
        }
        return finish(result, key: key, mechanism: request.mechanism, client: request.client.address)
    }

    private func finish(
        _ result: SASLStepResult, key: SASLExchangeKey, mechanism: String, client: String
    ) -> IPCMessage {
        switch result {
        case .challenge(let bytes):
            return .authChallenge(bytes)
        case .success(let user):
            table.remove(key)
            // The name goes into headers, logs and the sender-login check:
            // a store holding a name with control characters is refused.
            guard !user.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
                let line =
                    "auth refused: client=\(SASLLogText.escaped(client)), user=\(SASLLogText.escaped(user)):"
                    + " control characters in the user name"
                logger.warning("\(line)")
                return .rejected(SASLReplies.invalidCredentials)
            }
            return .authSucceeded(user: user)
        case .failure(let code, let user, let detail):
            table.remove(key)
            let reply = classify(code)
            let who = user.map { ", user=\(SASLLogText.escaped($0))" } ?? ""
            let line =
                "auth failed: client=\(SASLLogText.escaped(client)), mechanism=\(mechanism)\(who):"
                + " \(reply.code) \(reply.enhanced) (\(SASLLogText.escaped(detail)))"
            logger.info("\(line)")
            return .rejected(reply)
        }
    }

    /// Cyrus's code as a reply; a "no such user" from an unreadable sasldb
    /// is the store's failure, not the client's, so it is a 454.
    private func classify(_ code: Int32) -> SMTPReply {
        let reply = SASLReplies.reply(for: code)
        guard reply == SASLReplies.invalidCredentials, settings.passwordCheck == .auxprop,
            access(settings.sasldbPath, R_OK) != 0
        else { return reply }
        logger.error("cannot read the sasldb \(settings.sasldbPath): \(String(cString: strerror(errno)))")
        return SASLReplies.temporaryFailure
    }

    /// The configured mechanisms Cyrus can run, in the configured order.
    /// saslauthd checks a plaintext password and nothing else, so with it
    /// only the mechanisms that carry one (PLAIN, LOGIN) can succeed.
    private static func offerable(settings: SASLSettings, randomAvailable: Bool) -> [String] {
        let available: Set<String>
        do {
            available = Set(try SASLConnection(hostname: settings.hostname).availableMechanisms())
        } catch {
            return []
        }
        return settings.mechanisms.filter {
            available.contains($0)
                && (settings.passwordCheck == .auxprop || SASLSettings.plaintextMechanisms.contains($0))
                && (randomAvailable || SASLLibrary.shared.isSeeded($0)
                    || SASLRandomSource.nonceFreeMechanisms.contains($0))
        }
    }

    static func monotonicNow() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}

/// A live exchange: its Cyrus connection and what the log needs to say
/// about it when a later step fails.
struct SASLExchange {
    var connection: SASLConnection
    var mechanism: String
    var client: String
}
