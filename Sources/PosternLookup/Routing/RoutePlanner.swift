import PosternCore
import PosternIPC

/// The DNS questions routing asks; the lookup's resolver answers them, tests
/// answer from a table.
protocol RouteDNS {
    func mx(_ domain: String) throws(DNSError) -> [(preference: UInt16, exchange: String)]
    func addresses(_ host: String) throws(DNSError) -> [String]
}

extension DNSResolver: RouteDNS {}

/// Where mail for a domain goes, in Sendmail's order: the mailertable (an
/// `smtp:[host]:port` route asks no MX), then the smart host, then the
/// domain's MX records by preference (equal preferences shuffled, RFC 5321
/// §5.1), falling back to its address records when it has no MX (the
/// implicit MX). A null MX (RFC 7505) bounces at once. A host that is this
/// host ends the list where it appears (mail would loop back to us).
struct RoutePlanner {
    var mailertable: Mailertable
    /// SmartHost, parsed as a `relay:` mailertable value.
    var smartHost: MailerRoute?
    var defaultPort: UInt16
    /// This host's names (MyHostname), lower case.
    var ownNames: Set<String>
    /// "address port" of each listening socket: a route there is us.
    var ownEndpoints: Set<String>
    var tls: TLSPolicyMap
    var shuffle: ([RouteHost]) -> [RouteHost] = { $0.shuffled() }

    func route(_ domain: String, dns: RouteDNS?) -> RouteAnswer {
        if domain.hasPrefix("[") {
            // An address literal: the smart host if there is one (it takes
            // all remote mail), else that address itself.
            var answer: RouteAnswer
            if case .relay(let host, let port, let mxLookup)? = smartHost {
                answer =
                    mxLookup ? viaMX(host, port: port, dns: dns) : direct(host, port: port ?? defaultPort, dns: dns)
            } else if let address = IPAddressValue(literal: domain) {
                answer = direct(address.connectText, port: defaultPort, dns: dns)
            } else {
                answer = RouteAnswer(outcome: .permanent, text: "5.1.2 bad address literal")
            }
            answer.tls = tls.fallback
            return answer
        }
        guard let name = DomainName.normalize(domain) else {
            return RouteAnswer(outcome: .permanent, text: "5.1.2 bad destination domain")
        }
        let policy = tls.policy(for: name)
        var answer: RouteAnswer
        switch mailertable.route(for: name) ?? smartHost {
        case .smtp(let host, let port, let mxLookup)?, .relay(let host, let port, let mxLookup)?:
            answer = mxLookup ? viaMX(host, port: port, dns: dns) : direct(host, port: port ?? defaultPort, dns: dns)
        case .error(let enhanced, _, let text)?:
            answer = RouteAnswer(
                outcome: enhanced.hasPrefix("4") ? .temporary : .permanent, text: "\(enhanced) \(text)")
        case .local?:
            answer = RouteAnswer(outcome: .permanent, text: "5.3.5 the mailertable routes \(name) to local delivery")
        case nil:
            answer = viaMX(name, port: nil, dns: dns)
        }
        answer.tls = policy
        return answer
    }

    /// A host (or address literal) itself: no MX.
    private func direct(_ host: String, port: UInt16, dns: RouteDNS?) -> RouteAnswer {
        if IPAddressValue(text: host) != nil {
            return checked([RouteHost(name: host, addresses: [host], port: port)], destination: host)
        }
        guard let dns else { return noResolver }
        do {
            let addresses = try dns.addresses(host)
            guard !addresses.isEmpty else {
                return RouteAnswer(outcome: .permanent, text: "5.1.2 host \(host) has no address")
            }
            return checked([RouteHost(name: host, addresses: addresses, port: port)], destination: host)
        } catch {
            return Self.failure(error, name: host)
        }
    }

    private func viaMX(_ domain: String, port: UInt16?, dns: RouteDNS?) -> RouteAnswer {
        guard let dns else { return noResolver }
        var records: [(preference: UInt16, exchange: String)]
        do {
            records = try dns.mx(domain)
            records = records.enumerated().sorted {
                ($0.element.preference, $0.offset) < ($1.element.preference, $1.offset)
            }
            .map(\.element)
        } catch {
            return Self.failure(error, name: domain)
        }
        if records.contains(where: { Self.isNullExchange($0.exchange) }) {
            // RFC 7505 §4: a null MX means the domain takes no mail at all.
            return RouteAnswer(outcome: .permanent, text: "5.1.10 \(domain) does not accept mail (null MX)")
        }
        guard !records.isEmpty else { return direct(domain, port: port ?? defaultPort, dns: dns) }
        var hosts: [RouteHost] = []
        var lastError: DNSError?
        var byPreference: [(UInt16, [RouteHost])] = []
        for record in records {
            let exchange = record.exchange.lowercased()
            if ownNames.contains(exchange) {
                // We are an MX: only the more preferred ones may be used
                // (RFC 5321 §5.1), not those as preferred as we are.
                if let last = byPreference.last, last.0 == record.preference { byPreference.removeLast() }
                byPreference.append((record.preference, [RouteHost(name: exchange, addresses: [], port: 0)]))
                break
            }
            do {
                let addresses = try dns.addresses(exchange)
                guard !addresses.isEmpty else { continue }
                let host = RouteHost(name: exchange, addresses: addresses, port: port ?? defaultPort)
                if let last = byPreference.last, last.0 == record.preference {
                    byPreference[byPreference.count - 1].1.append(host)
                } else {
                    byPreference.append((record.preference, [host]))
                }
            } catch {
                lastError = error
            }
        }
        for (_, group) in byPreference { hosts += shuffle(group) }
        if hosts.isEmpty, let lastError { return Self.failure(lastError, name: domain) }
        return checked(hosts, destination: domain)
    }

    /// The hosts up to (not including) the first that is this host; none
    /// left means the mail would come back to us.
    private func checked(_ hosts: [RouteHost], destination: String) -> RouteAnswer {
        var usable: [RouteHost] = []
        for host in hosts {
            let isUs =
                host.addresses.isEmpty || ownNames.contains(host.name)
                || host.addresses.contains { ownEndpoints.contains("\($0) \(host.port)") }
            if isUs { break }
            usable.append(host)
        }
        guard !usable.isEmpty else {
            return RouteAnswer(
                outcome: .permanent, text: "5.4.6 mail for \(destination) loops back to myself (the MX is this host)")
        }
        return RouteAnswer(outcome: .hosts, hosts: usable)
    }

    private var noResolver: RouteAnswer {
        RouteAnswer(outcome: .temporary, text: "4.4.3 no DNS resolver configured")
    }

    static func isNullExchange(_ exchange: String) -> Bool { exchange.isEmpty || exchange == "." }

    /// NXDOMAIN is final; anything else may clear up.
    static func failure(_ error: DNSError, name: String) -> RouteAnswer {
        switch error {
        case .nameError: return RouteAnswer(outcome: .permanent, text: "5.1.2 domain \(name) does not exist")
        default: return RouteAnswer(outcome: .temporary, text: "4.4.3 DNS lookup for \(name) failed: \(error)")
        }
    }
}

extension IPAddressValue {
    /// The address as a socket wants it: dotted IPv4, or IPv6 groups.
    var connectText: String {
        switch self {
        case .v4(let a, let b, let c, let d): return "\(a).\(b).\(c).\(d)"
        case .v6(let groups): return groups.map { String($0, radix: 16) }.joined(separator: ":")
        }
    }
}
