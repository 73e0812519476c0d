import Glibc
import Logging
import NIOConcurrencyHelpers
import PosternAliases
import PosternCore
import PosternIPC

/// The lookup's tables and the answers built from them. Requests run on two
/// pools of threads: those that may wait for DNS (the client check: PTR
/// and block lists) on one, those answered from the tables alone (sender
/// and recipient checks) on the other, so that a block list's server that
/// stops answering delays new clients' greetings, never the RCPT checks of
/// sessions already under way.
final class LookupState: @unchecked Sendable {
    private let lock = NIOLock()
    private let logger: Logger
    /// Many threads: each may wait seconds for a DNS server.
    private let dnsWorkers = TaskQueue(threads: 16)
    /// Table lookups take microseconds; two threads keep one long map
    /// search from holding up the rest.
    private let tableWorkers = TaskQueue(threads: 2)

    /// Answers the master's health check from the pool that answers MAIL
    /// and RCPT (which never waits for DNS): if that pool is stuck, the
    /// lookup is restarted. The DNS pool may legitimately wait on a slow
    /// server, so it is not what is judged.
    func health(_ answer: @escaping @Sendable () -> Void) { tableWorkers.async(answer) }
    private let resolvConf: String
    private var config: PosternConfig
    private var users: Set<String> = []
    private var access = AccessMap()
    private var localHostNames = LocalHostNames()
    private var aliases = AliasTable()
    private var virtusertable = Virtusertable()
    private var mailertable = Mailertable()
    private var tlsPolicies = TLSPolicyMap()
    private var engine = PolicyEngine(tables: PolicyTables())
    private var resolver: DNSResolver?
    private var senderLogins: SenderLoginMap?
    /// SMTP AUTH; nil when Cyrus SASL could not be brought up (AUTH is
    /// then answered with 454 and not advertised).
    private let authenticator: SASLAuthenticator?
    private let logins = AuthenticatedLogins()

    init(config: PosternConfig, resolvConf: String, logger: Logger, authenticator: SASLAuthenticator? = nil) {
        self.config = config
        self.resolvConf = resolvConf
        self.logger = logger
        self.authenticator = authenticator
        update(config: config)
    }

    func update(config: PosternConfig) {
        let (map, mapProblems) =
            MapFiles.read("/access", logger: logger).map {
                AccessMap.parse(text: $0, file: config.configDirectory + "/access")
            } ?? (AccessMap(), [])
        for problem in mapProblems { logger.warning("\(problem)") }
        let (names, nameProblems) =
            MapFiles.read("/local-host-names", logger: logger).map {
                LocalHostNames.parse(text: $0, file: config.configDirectory + "/local-host-names")
            } ?? (LocalHostNames(), [])
        for problem in nameProblems { logger.warning("\(problem)") }
        let maps = Self.readAddressMaps(directory: config.configDirectory, logger: logger)
        let fallbackTLS = TLSPolicyMap.policy(config.relay.tlsPolicy)
        let tlsMap =
            MapFiles.read("/tls_policy", logger: logger).map { text in
                let (map, problems) = TLSPolicyMap.parse(
                    text: text, file: config.configDirectory + "/tls_policy", fallback: fallbackTLS)
                for problem in problems { logger.warning("\(problem)") }
                return map
            } ?? TLSPolicyMap(fallback: fallbackTLS)
        let logins = config.security.senderLoginMap.map { path in
            let inside = SASLSettings.inside(config.configDirectory, path)
            guard let text = MapFiles.read(inside, logger: logger) else {
                logger.warning("\(path) cannot be read: authenticated clients may send only with the null sender")
                return SenderLoginMap()
            }
            let (map, problems) = SenderLoginMap.parse(text: text, file: path)
            for problem in problems { logger.warning("\(problem)") }
            return map
        }
        authenticator?.update(settings: SASLSettings(config: config, root: config.configDirectory))
        let servers =
            config.dnsResolvers.isEmpty
            ? ResolvConf.parse(resolvConf)
            : config.dnsResolvers.map { DNSServer(host: $0.host, port: $0.port) }
        lock.withLock {
            self.config = config
            access = map
            localHostNames = names
            (aliases, virtusertable, mailertable) = maps
            tlsPolicies = tlsMap
            senderLogins = logins
            resolver = servers.isEmpty ? nil : DNSResolver(servers: servers, timeout: 3, attempts: 2)
            rebuild()
        }
        let counts = "aliases=\(maps.0.count), virtusertable=\(maps.1.count), mailertable=\(maps.2.count)"
        logger.info(
            "maps loaded, access entries=\(map.count), local domains=\(names.union(config.localDomains).count), \(counts)"
        )
    }

    /// The aliases, virtusertable and mailertable of the configuration
    /// directory (the lookup's root); an absent file is an empty map, a bad
    /// line is logged with its file and line and the rest applies.
    private static func readAddressMaps(directory: String, logger: Logger) -> (AliasTable, Virtusertable, Mailertable) {
        func load<T>(_ name: String, _ empty: T, _ parse: (String, String) -> (T, [MapProblem])) -> T {
            guard let text = MapFiles.read("/" + name, logger: logger) else { return empty }
            let (map, problems) = parse(text, directory + "/" + name)
            for problem in problems { logger.warning("\(problem)") }
            return map
        }
        return (
            load("aliases", AliasTable(), { AliasesFile.parse(text: $0, file: $1) }),
            load("virtusertable", Virtusertable(), { Virtusertable.parse(text: $0, file: $1) }),
            load("mailertable", Mailertable(), { Mailertable.parse(text: $0, file: $1) })
        )
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
        let names = PasswdFile.userNames(bytes)
        lock.withLock {
            users = names
            rebuild()
        }
        logger.info("user database loaded, users=\(names.count)")
    }

    /// Called with the lock held.
    private func rebuild() {
        // The wildcard addresses are not ours to receive mail at: u@[0.0.0.0] is no local address.
        let hostAddresses = config.listen.map(\.host).filter { $0 != "0.0.0.0" && $0 != "::" } + ["127.0.0.1", "::1"]
        engine = PolicyEngine(
            tables: PolicyTables(
                // MyHostname is always local, as Sendmail's $j is always in
                // class w: unqualified local mail is addressed to it.
                localDomains: localHostNames.union(config.localDomains + [config.myHostname]), users: users,
                access: access,
                hostAddresses: hostAddresses, aliases: aliases, virtusertable: virtusertable,
                mailertable: mailertable))
    }

    func handle(_ frame: Frame, from channel: IPCChannel) {
        frame.descriptors.forEach { _ = close($0) }
        if let authenticator, channel.peer == .listener, Self.isAuthRequest(frame.message) {
            let key = ObjectIdentifier(channel)
            authenticator.queue.async { [logins] in
                let answer = authenticator.answer(frame.message, channel: key)
                if case .authSucceeded(let user) = answer { logins.record(user) }
                try? channel.respond(to: frame.requestID, with: answer)
            }
            return
        }
        let pool: TaskQueue
        switch frame.message {
        case .checkClient, .routeRequest: pool = dnsWorkers
        default: pool = tableWorkers
        }
        pool.async { [self] in
            let answer = answer(verified(frame.message, from: channel.peer), from: channel.peer)
            try? channel.respond(to: frame.requestID, with: answer)
        }
    }

    /// The listener's claim of an authenticated login, kept only when the
    /// lookup saw that login succeed (see `AuthenticatedLogins`).
    private func verified(_ message: IPCMessage, from peer: Role) -> IPCMessage {
        guard peer == .listener else { return message }
        func check(_ client: ClientContext) -> ClientContext {
            guard !client.authenticatedUser.isEmpty, !logins.isKnown(client.authenticatedUser) else { return client }
            let login = SASLLogText.escaped(client.authenticatedUser)
            logger.warning(
                "the listener claimed login \(login) for \(client.address), never authenticated here: ignored")
            var stripped = client
            stripped.authenticatedUser = ""
            return stripped
        }
        switch message {
        case .checkSender(let address, let client): return .checkSender(address: address, client: check(client))
        case .checkRecipient(let address, let client): return .checkRecipient(address: address, client: check(client))
        default: return message
        }
    }

    /// AUTH requests go to the authenticator's own queue (Cyrus, saslauthd).
    private static func isAuthRequest(_ message: IPCMessage) -> Bool {
        switch message {
        case .authMechanisms, .authStart, .authStep, .authAbort: return true
        default: return false
        }
    }

    /// The relay's question: where mail for a domain goes.
    private func routePlanner() -> (RoutePlanner, DNSResolver?) {
        lock.withLock {
            let smart: MailerRoute? =
                config.relay.smartHost.isEmpty
                ? nil : try? MailertableValue.parse(Substring("relay:" + config.relay.smartHost))
            let endpoints = Set(config.listen.map { "\($0.host) \($0.port)" })
            return (
                RoutePlanner(
                    mailertable: mailertable, smartHost: smart, defaultPort: config.relay.smtpPort,
                    ownNames: [config.myHostname.lowercased()], ownEndpoints: endpoints, tls: tlsPolicies),
                resolver
            )
        }
    }

    private func answer(_ message: IPCMessage, from peer: Role) -> IPCMessage {
        let (engine, access, zones, resolver, senderLogins) = lock.withLock {
            (self.engine, self.access, config.dnsBlocklists, self.resolver, self.senderLogins)
        }
        switch message {
        case .checkClient(let client) where peer == .listener:
            return .clientVerdict(
                clientVerdict(client, engine: engine, access: access, zones: zones, resolver: resolver))
        case .checkSender(let address, let client) where peer == .listener:
            let decision = engine.client(ip: client.address, hostname: client.hostname.isEmpty ? nil : client.hostname)
            let verdict = engine.sender(address, client: decision, authenticated: !client.authenticatedUser.isEmpty)
            if verdict == .accept, !client.authenticatedUser.isEmpty, let senderLogins {
                let owned = senderLogins.decision(sender: address, login: client.authenticatedUser)
                if case .reject(let code, let enhanced, let text) = owned {
                    logger.info("reject: MAIL from \(SASLLogText.escaped(client.address)): \(code) \(enhanced) \(text)")
                }
                return reply(owned)
            }
            return reply(verdict)
        // Only when Cyrus SASL could not be started (see `handle`).
        case .authMechanisms where peer == .listener:
            return .mechanisms([])
        case .authAbort where peer == .listener:
            return .accepted
        case .authStart where peer == .listener, .authStep where peer == .listener:
            return .rejected(SASLReplies.temporaryFailure)
        case .explainAddress(let address) where peer == .submit:
            let explainer = lock.withLock {
                AddressExplainer(
                    engine: self.engine, aliases: aliases, virtusertable: virtusertable, mailertable: mailertable,
                    smartHost: config.relay.smartHost, hostname: config.myHostname)
            }
            switch explainer.explain(address) {
            case .success(let lines): return .addressExplanation(lines)
            case .failure(let reply): return .rejected(reply)
            }
        case .routeRequest(let domain) where peer == .relay:
            let (planner, resolver) = routePlanner()
            let answer = planner.route(domain, dns: resolver)
            if answer.outcome != .hosts { logger.info("route for \(domain): \(answer.text)") }
            return .route(answer)
        case .checkRecipient(let address, let client) where peer == .listener || peer == .queue || peer == .submit:
            // The host's own users may send anywhere: that right comes from
            // the edge (submit's channel), never from a claimed field.
            let decision =
                peer == .submit
                ? ClientDecision(decision: .accept, mayRelay: true)
                : engine.client(ip: client.address, hostname: client.hostname.isEmpty ? nil : client.hostname)
            switch engine.recipient(address, client: decision, authenticated: !client.authenticatedUser.isEmpty) {
            case .local(let user): return .recipientAccepted(localUser: user)
            case .remote(let address, let domain): return .recipientRemote(address: address, domain: domain)
            case .discard: return .discarded
            case .reject(let code, let enhanced, let text):
                return .rejected(SMTPReply(code: Int(code), enhanced: enhanced, text: text))
            }
        default:
            return .rejected(SMTPReply(code: 451, enhanced: "4.3.0", text: "Unsupported lookup request"))
        }
    }

    private func reply(_ decision: PolicyDecision) -> IPCMessage {
        switch decision {
        case .accept: return .accepted
        case .discard: return .discarded
        case .reject(let code, let enhanced, let text):
            return .rejected(SMTPReply(code: Int(code), enhanced: enhanced, text: text))
        }
    }

    /// The access map first (an OK or RELAY entry exempts a client from the
    /// block lists, as in Sendmail), then each DNS block list in turn. A
    /// block list that does not answer does not block: a DNS outage must
    /// not stop all mail.
    private func clientVerdict(
        _ client: ClientContext, engine: PolicyEngine, access: AccessMap, zones: [String], resolver: DNSResolver?
    ) -> ClientVerdict {
        let hostname = reverseName(client.address, resolver: resolver)
        let decision = engine.client(ip: client.address, hostname: hostname)
        let none = SMTPReply(code: 250, enhanced: "2.0.0", text: "")
        switch decision.decision {
        case .reject(let code, let enhanced, let text):
            logger.info("reject: connect from \(client.address): \(code) \(enhanced) \(text)")
            return ClientVerdict(
                action: .reject, status: SMTPReply(code: Int(code), enhanced: enhanced, text: text),
                mayRelay: false, hostname: hostname ?? "")
        case .discard:
            return ClientVerdict(action: .discard, status: none, mayRelay: false, hostname: hostname ?? "")
        case .accept:
            break
        }
        let entry = access.lookupClient(ip: client.address, hostname: hostname)?.action
        let exempt = entry == .ok || entry == .relay
        if !exempt, let resolver {
            for zone in zones {
                do {
                    if case .listed(_, let text) = try DNSBL.check(ip: client.address, zone: zone, resolver: resolver) {
                        let reason = text.map { "; \($0)" } ?? ""
                        logger.info("reject: connect from \(client.address): listed by \(zone)\(reason)")
                        return ClientVerdict(
                            action: .reject,
                            status: SMTPReply(
                                code: 554, enhanced: "5.7.1",
                                text: "Service unavailable; client [\(client.address)] blocked using \(zone)\(reason)"),
                            mayRelay: false, hostname: hostname ?? "")
                    }
                } catch {
                    logger.warning("DNS block list \(zone) did not answer for \(client.address): \(error)")
                }
            }
        }
        return ClientVerdict(
            action: .accept, status: none, mayRelay: decision.mayRelay, hostname: hostname ?? "", trusted: exempt)
    }

    /// The client's name, forward-confirmed (its PTR name must resolve back
    /// to the address), so an access entry for a domain cannot be claimed by
    /// whoever controls a reverse zone. Loopback clients are "localhost"
    /// without asking anyone.
    private func reverseName(_ address: String, resolver: DNSResolver?) -> String? {
        if address.hasPrefix("127.") || address == "::1" { return "localhost" }
        guard let resolver, let names = try? resolver.ptr(address) else { return nil }
        for name in names.prefix(3) {
            if let forward = try? resolver.addresses(name), forward.contains(address) { return name }
        }
        return nil
    }
}
