import Glibc
import Logging
import PosternCore
import PosternIPC
import SMTPProtocol

/// Starts TLS on a connected socket: the TLS layer's entry point, given to
/// the session so that this file stays free of OpenSSL. Returns the new
/// transport and a log description, or why the handshake failed.
typealias TLSStarter =
    @Sendable (_ fd: Int32, _ host: String, _ verify: Bool, _ deadline: Double) -> Result<
        (RelayTransport, String), TransportError
    >

/// One SMTP connection driven by the client state machine: events in from
/// the socket, the spool file and the clock; the machine's actions carried
/// out. Messages are handed in one at a time as the session becomes free,
/// so connection reuse is just "the next message".
final class RelaySession {
    struct Outcome {
        /// Messages no MAIL was sent for: another host may take them.
        var unattempted: [RelayWork] = []
        var delivered = 0
        var failure: SessionFailure?
        var greeted = false
        /// A reused connection died before the server answered anything
        /// about the next message (a cached connection the server had
        /// closed): that message goes again on a fresh connection.
        var staleReuse = false
    }

    private let fd: Int32
    private var transport: RelayTransport
    private var machine: SMTPClientStateMachine
    private let settings: SMTPClientSettings
    private let startTLS: TLSStarter?
    private let logger: Logger
    private var events: [SMTPClientEvent] = []
    private var deadline: Double?
    private var current: RelayWork?
    private var contentOffset: off_t = 0
    private var handed = 0
    private var heardSinceHand = false
    private var pending: [RelayWork]
    private var outcome = Outcome()
    private var tlsDescription: String?
    private let label: String
    /// A message (some recipient) was taken: the slow start grows.
    private let onDelivered: () -> Void

    init(
        fd: Int32, port: UInt16, settings: SMTPClientSettings, pending: [RelayWork], startTLS: TLSStarter?,
        logger: Logger, onDelivered: @escaping () -> Void = {}
    ) {
        self.onDelivered = onDelivered
        self.fd = fd
        self.transport = PlainTransport(fd: fd)
        self.settings = settings
        self.machine = SMTPClientStateMachine(settings: settings)
        self.pending = pending
        self.startTLS = startTLS
        self.logger = logger
        self.label = "\(settings.remoteName)[\(settings.remoteAddress)]:\(port)"
    }

    /// Runs the connection to its end. `next` gives the destination's next
    /// message when this one is free (nil: none, QUIT).
    func run(next: () -> RelayWork?) -> Outcome {
        events.append(.connected)
        var askedForMore = false
        while true {
            while !events.isEmpty {
                let event = events.removeFirst()
                perform(machine.handle(event))
            }
            if machine.isClosed { break }
            if machine.isIdle && current == nil {
                if let work = pending.isEmpty ? (askedForMore ? nil : next()) : pending.removeFirst() {
                    hand(work)
                } else {
                    askedForMore = true
                    events.append(.noMoreMessages)
                }
                continue
            }
            do {
                let bytes = try transport.read(max: 16_384, deadline: deadline ?? MonotonicClock.now() + 300)
                heardSinceHand = true
                events.append(.received(bytes))
            } catch .timedOut {
                events.append(.timedOut)
            } catch {
                events.append(.connectionClosed)
            }
        }
        transport.close()
        if let current { outcome.unattempted.append(current) }
        outcome.unattempted += pending
        return outcome
    }

    private func hand(_ work: RelayWork) {
        current = work
        contentOffset = 0
        handed += 1
        heardSinceHand = false
        events.append(.nextMessage(work.message))
    }

    private func perform(_ actions: [SMTPClientAction]) {
        for action in actions {
            switch action {
            case .send(let bytes):
                do {
                    try transport.write(bytes, deadline: MonotonicClock.now() + Double(settings.timeouts.dataBlock))
                } catch {
                    events.append(.connectionClosed)
                }
            case .startTLS:
                tls()
            case .readContent:
                readContent()
            case .armTimer(let seconds):
                deadline = MonotonicClock.now() + Double(seconds)
            case .cancelTimer:
                deadline = nil
            case .report(let report):
                guard let work = current, work.message.queueID == report.queueID else { continue }
                current = nil
                if !report.attempted {
                    outcome.unattempted.append(work)
                    continue
                }
                if handed > 1 && !heardSinceHand && report.results.allSatisfy({ $0.disposition == .deferred }) {
                    outcome.unattempted.append(work)
                    outcome.staleReuse = true
                    continue
                }
                outcome.greeted = true
                work.complete(report)
                if report.results.contains(where: { $0.disposition == .delivered }) { onDelivered() }
                for result in report.results {
                    let address =
                        work.message.recipients.indices.contains(result.index)
                        ? work.message.recipients[result.index].address : "?"
                    let tlsText = tlsDescription ?? "no TLS"
                    let line = "to=<\(address)>, relay=\(label), \(tlsText), status=\(result.disposition.rawValue)"
                    logger.info("\(line) (\(result.queueText))", metadata: ["qid": "\(report.queueID)"])
                    if result.disposition == .delivered { outcome.delivered += 1 }
                }
            case .sessionFailed(let failure):
                outcome.failure = failure
                logger.info("\(label): \(failure.status) \(failure.text)")
            case .close:
                transport.close()
            }
        }
    }

    /// The handshake on the socket; the machine decides what a failure
    /// means under the destination's policy.
    private func tls() {
        guard let startTLS else {
            events.append(.tlsFailed)
            return
        }
        let verify = settings.tlsPolicy == .verify
        let deadline = MonotonicClock.now() + Double(settings.timeouts.command)
        switch startTLS(fd, settings.remoteName, verify, deadline) {
        case .success(let (secured, description)):
            transport = secured
            tlsDescription = description
            logger.info("\(label): \(description)")
            events.append(.tlsEstablished)
        case .failure(let error):
            logger.info("\(label): TLS handshake failed: \(error)")
            events.append(.tlsFailed)
        }
    }

    /// The next block of the spooled message (CR LF lines, dot-unstuffed);
    /// the machine stuffs or frames it.
    private func readContent() {
        guard let work = current else {
            events.append(.contentUnreadable)
            return
        }
        var buffer = [UInt8](repeating: 0, count: 65_536)
        let n = buffer.withUnsafeMutableBytes { pread(work.messageFD, $0.baseAddress, $0.count, contentOffset) }
        if n > 0 {
            contentOffset += off_t(n)
            events.append(.content(Array(buffer[0..<n])))
        } else if n == 0 {
            events.append(.contentEnd)
        } else {
            events.append(.contentUnreadable)
        }
    }
}
