import Glibc
import Logging
import NIOConcurrencyHelpers
import PosternCore
import PosternIPC
import PosternPrivilege
import SMTPProtocol

/// The relay's front: takes delivery jobs from the queue, splits each by
/// destination domain, asks the lookup for each domain's route, and hands
/// the parts to the scheduler; answers the queue when every part has an
/// outcome. A route that fails answers its recipients at once (deferred
/// for a DNS failure, bounced for a domain that takes no mail).
final class RelayService: @unchecked Sendable {
    private let peers = PeerChannels()
    private let start: ChildStart
    private let logger: Logger
    private let scheduler: DestinationScheduler
    private typealias RouteWaiter = (domain: String, deadline: Double, done: @Sendable (RouteAnswer) -> Void)
    private let routeLock = NIOLock()
    private var routeWaiters: [RouteWaiter] = []
    private let settings: RunnerSettings

    /// What a new connection runner needs, kept current across reloads.
    final class RunnerSettings: Sendable {
        private let config: NIOLockedValueBox<PosternConfig>
        init(_ config: PosternConfig) { self.config = NIOLockedValueBox(config) }
        func update(_ config: PosternConfig) { self.config.withLockedValue { $0 = config } }
        var current: (helo: String, connectTimeout: Double) {
            config.withLockedValue { ($0.myHostname, Double($0.relay.connectTimeout)) }
        }
    }

    init(start: ChildStart, startTLS: TLSStarter?) {
        self.start = start
        self.logger = start.logger
        let settings = RunnerSettings(start.config)
        self.settings = settings
        let logger = start.logger
        scheduler = DestinationScheduler(config: start.config) { work, scheduler in
            let (helo, timeout) = settings.current
            let runner = ConnectionRunner(
                heloName: helo, connectTimeout: timeout, startTLS: startTLS, scheduler: scheduler, logger: logger)
            OSThread.start { runner.run(work) }
        }
        scheduler.startTicker()
        OSThread.start { [self] in
            while true {
                sleep(1)
                serveWaitingRoutes()
            }
        }
    }

    func health(_ answer: () -> Void) {
        routeLock.withLock {}
        scheduler.health(answer)
    }

    func update(config: PosternConfig) {
        settings.update(config)
        scheduler.update(config: config)
    }

    func attach(_ role: Role, fd: Int32) {
        let channel = start.openPeer(role, fd: fd) { [self] channel, frame in handle(frame, from: channel) }
        peers.replace(role, with: channel)
        if role == .lookup { serveWaitingRoutes() }
    }

    private func handle(_ frame: Frame, from channel: IPCChannel) {
        guard channel.peer == .queue, case .deliver(let job) = frame.message, let fd = frame.descriptors.first else {
            frame.descriptors.forEach { _ = close($0) }
            try? channel.respond(
                to: frame.requestID,
                with: .rejected(SMTPReply(code: 451, enhanced: "4.3.0", text: "Unsupported relay request")))
            return
        }
        var byDomain: [String: [DeliveryRecipient]] = [:]
        for r in job.recipients { byDomain[Self.domain(of: r.address), default: []].append(r) }
        let collector = OutcomeCollector(parts: byDomain.count) { outcomes in
            try? channel.respond(to: frame.requestID, with: .deliveryResult(job.queueID, outcomes))
        }
        for (domain, recipients) in byDomain {
            let copy = dup(fd)
            guard copy >= 0 else {
                collector.add(
                    recipients.map {
                        RecipientOutcome(index: $0.index, status: .deferred, text: "4.3.0 out of descriptors")
                    })
                continue
            }
            route(domain) { [self] answer in
                switch answer.outcome {
                case .hosts where !answer.hosts.isEmpty:
                    let message = OutboundMessage(
                        queueID: job.queueID, sender: job.sender,
                        recipients: recipients.map {
                            OutboundRecipient(
                                address: $0.address, notify: $0.notify, originalRecipient: $0.originalRecipient)
                        }, size: Int(job.size), bodyType: job.bodyType, smtputf8: job.smtputf8,
                        dsnReturn: job.dsnReturn,
                        envelopeID: job.envelopeID)
                    scheduler.submit(
                        RelayWork(
                            message: message, jobIndices: recipients.map(\.index), messageFD: copy, route: answer,
                            destination: domain, completion: { collector.add($0) }))
                case .permanent:
                    close(copy)
                    collector.add(
                        recipients.map { RecipientOutcome(index: $0.index, status: .failed, text: answer.text) })
                default:
                    close(copy)
                    let text = answer.text.isEmpty ? "4.4.3 no route to \(domain)" : answer.text
                    collector.add(recipients.map { RecipientOutcome(index: $0.index, status: .deferred, text: text) })
                }
            }
        }
        close(fd)
    }

    /// Asks the lookup. Its channel may not be attached yet (the relay and
    /// the lookup start together; the queue may hand over its backlog at
    /// once) or be reattached after a restart: the question waits, for
    /// `lookupWait` at most, and goes out when the channel arrives.
    private func route(_ domain: String, then done: @escaping @Sendable (RouteAnswer) -> Void) {
        if let lookup = peers.channel(.lookup) { return ask(lookup, domain, then: done) }
        routeLock.withLock { routeWaiters.append((domain, MonotonicClock.now() + Self.lookupWait, done)) }
    }

    /// Routes asked while the lookup was away: sent once it is attached,
    /// deferred once they have waited too long. Runs on attach and every
    /// second (one thread for all of them).
    private func serveWaitingRoutes() {
        let now = MonotonicClock.now()
        let lookup = peers.channel(.lookup)
        let due = routeLock.withLock { () -> [RouteWaiter] in
            let due = routeWaiters.filter { lookup != nil || $0.deadline <= now }
            routeWaiters.removeAll { lookup != nil || $0.deadline <= now }
            return due
        }
        for (domain, _, done) in due {
            if let lookup {
                ask(lookup, domain, then: done)
            } else {
                done(RouteAnswer(outcome: .temporary, text: "4.3.0 the lookup process is not available"))
            }
        }
    }

    static let lookupWait = 10.0

    private func ask(_ lookup: IPCChannel, _ domain: String, then done: @escaping @Sendable (RouteAnswer) -> Void) {
        lookup.request(.routeRequest(domain: domain)) { result in
            if case .success(let frame) = result, case .route(let answer) = frame.message {
                done(answer)
            } else {
                done(RouteAnswer(outcome: .temporary, text: "4.3.0 no route answer from the lookup"))
            }
        }
    }

    /// The domain of an address the lookup routed (lower case); an address
    /// literal keeps its brackets.
    static func domain(of address: String) -> String {
        guard let at = address.lastIndex(of: "@") else { return "" }
        return address[address.index(after: at)...].lowercased()
    }
}
