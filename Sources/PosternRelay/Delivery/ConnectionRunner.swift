import Glibc
import Logging
import PosternCore
import PosternIPC
import SMTPProtocol

/// One connection slot of a destination, on its own thread: tries the
/// route's hosts and addresses in order until one takes the messages
/// (connection refused, a greeting that refuses, TLS required but not
/// offered: the next host), then keeps delivering the destination's
/// messages over that connection while there are any.
struct ConnectionRunner: Sendable {
    let heloName: String
    let connectTimeout: Double
    let startTLS: TLSStarter?
    let scheduler: DestinationScheduler
    let logger: Logger

    func run(_ first: RelayWork) {
        var pending = [first]
        var lastError = ""
        // The session's own status when it said why (4.7.4 TLS required,
        // 4.4.2 lost connection...); 4.4.1 for a host that did not answer.
        var lastStatus = "4.4.1"
        var delivered = 0
        var reached = false
        let route = first.route
        hosts: for host in route.hosts {
            for address in host.addresses {
                if pending.isEmpty { break hosts }
                var policy = Self.policy(route.tls)
                var attempts = 0
                while attempts < 2 && !pending.isEmpty {
                    attempts += 1
                    let fd: Int32
                    switch TCPConnector.connect(address: address, port: host.port, timeout: connectTimeout) {
                    case .failure(let error):
                        lastError = "connect to \(host.name)[\(address)]:\(host.port): \(error)"
                        lastStatus = "4.4.1"
                        logger.info("\(lastError)")
                        attempts = 2
                        continue
                    case .success(let connected):
                        fd = connected
                    }
                    reached = true
                    let settings = SMTPClientSettings(
                        heloName: heloName, remoteName: host.name, remoteAddress: address, tlsPolicy: policy)
                    let session = RelaySession(
                        fd: fd, port: host.port, settings: settings, pending: pending, startTLS: startTLS,
                        logger: logger, onDelivered: { scheduler.delivered(first.destination) })
                    let outcome = session.run(next: { scheduler.nextWork(for: first.destination) })
                    delivered += outcome.delivered
                    pending = outcome.unattempted
                    if outcome.staleReuse && attempts < 2 {
                        // The same address again, on a fresh connection.
                        logger.info("\(host.name)[\(address)]:\(host.port): cached connection closed; reconnecting")
                        continue
                    }
                    if let failure = outcome.failure {
                        lastError = "\(host.name)[\(address)]:\(host.port): \(failure.text)"
                        lastStatus = failure.status
                        // A failed handshake under `may`: the same host in
                        // the clear, once.
                        if failure.retryWithoutTLS && policy == .may {
                            policy = .none
                            continue
                        }
                    }
                    attempts = 2
                }
            }
        }
        for work in pending {
            let reason = lastError.isEmpty ? "no host to deliver to" : lastError
            work.completeAll(.deferred, "\(lastStatus) \(reason)")
        }
        scheduler.runnerEnded(first.destination, unreachable: !reached && delivered == 0)
    }

    static func policy(_ policy: RouteAnswer.TLSPolicy) -> OutboundTLSPolicy {
        switch policy {
        case .none: return .none
        case .may: return .may
        case .encrypt: return .encrypt
        case .verify: return .verify
        }
    }
}
