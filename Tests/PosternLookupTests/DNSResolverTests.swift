import Dispatch
import Foundation
import Glibc
import XCTest

@testable import PosternLookup

/// A name server on 127.0.0.1 in a background loop: UDP answered by
/// `udp` (any number of datagrams per query, in order), TCP on the same
/// port by `tcp`. Every query it sees is recorded.
final class FakeDNSServer: @unchecked Sendable {
    typealias UDPHandler = @Sendable (_ query: [UInt8]) -> [[UInt8]]
    typealias TCPHandler = @Sendable (_ query: [UInt8]) -> [UInt8]?

    let port: UInt16
    private let udpFD: Int32
    private let tcpFD: Int32
    private let udp: UDPHandler
    private let tcp: TCPHandler?
    private let state = DispatchQueue(label: "fake-dns-state")
    private var stopping = false
    private var seen: [(transport: String, query: [UInt8])] = []
    private let finished = DispatchSemaphore(value: 0)

    var queries: [(transport: String, query: [UInt8])] { state.sync { seen } }
    var server: DNSServer { DNSServer(host: "127.0.0.1", port: port) }

    init(udp: @escaping UDPHandler, tcp: TCPHandler? = nil) throws {
        var bound: (Int32, Int32, UInt16)?
        for _ in 0..<20 where bound == nil {
            let u = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
            guard u >= 0, Self.bind(u, port: 0) else { throw DNSError.io(errno: errno) }
            let port = Self.localPort(u)
            guard tcp != nil else {
                bound = (u, -1, port)
                break
            }
            let t = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            if Self.bind(t, port: port), listen(t, 8) == 0 {
                bound = (u, t, port)
            } else {
                close(u)
                close(t)
            }
        }
        guard let (u, t, port) = bound else { throw DNSError.io(errno: EADDRINUSE) }
        (udpFD, tcpFD, self.port, self.udp, self.tcp) = (u, t, port, udp, tcp)
        // A thread of its own: servers block in poll for their whole life,
        // and Dispatch's pool only grows past the core count after a delay.
        Thread { self.serve() }.start()
    }

    func stop() {
        state.sync { stopping = true }
        finished.wait()
        close(udpFD)
        if tcpFD >= 0 { close(tcpFD) }
    }

    /// Decodes a query the way a server would, for handlers that care.
    static func question(_ query: [UInt8]) -> (name: String, type: UInt16)? {
        guard let question = (try? DNSMessage.decode(query))?.question else { return nil }
        return (question.name, question.type)
    }

    static func bind(_ fd: Int32, port: UInt16) -> Bool {
        var address = loopback(port)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }

    static func loopback(_ port: UInt16) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        return address
    }

    static func localPort(_ fd: Int32) -> UInt16 {
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return UInt16(bigEndian: address.sin_port)
    }

    /// A UDP port on 127.0.0.1 with nothing behind it.
    static func deadPort() -> UInt16 {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(fd) }
        _ = bind(fd, port: 0)
        return localPort(fd)
    }

    private func serve() {
        defer { finished.signal() }
        var buffer = [UInt8](repeating: 0, count: 65536)
        while !state.sync(execute: { stopping }) {
            var fds = [pollfd(fd: udpFD, events: Int16(POLLIN), revents: 0)]
            if tcpFD >= 0 { fds.append(pollfd(fd: tcpFD, events: Int16(POLLIN), revents: 0)) }
            guard poll(&fds, nfds_t(fds.count), 10) > 0 else { continue }
            if fds[0].revents != 0 {
                var peer = sockaddr_in()
                var length = socklen_t(MemoryLayout<sockaddr_in>.size)
                let count = withUnsafeMutablePointer(to: &peer) { pointer in
                    pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        recvfrom(udpFD, &buffer, buffer.count, 0, $0, &length)
                    }
                }
                guard count >= 0 else { continue }
                let query = Array(buffer[0..<count])
                state.sync { seen.append(("udp", query)) }
                for reply in udp(query) {
                    _ = withUnsafePointer(to: &peer) { pointer in
                        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                            sendto(udpFD, reply, reply.count, 0, $0, length)
                        }
                    }
                }
            }
            if fds.count > 1, fds[1].revents != 0 { serveTCP() }
        }
    }

    private func serveTCP() {
        let fd = accept(tcpFD, nil, nil)
        guard fd >= 0 else { return }
        defer { close(fd) }
        var limit = timeval(tv_sec: 1, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        guard let prefix = readExactly(fd, 2) else { return }
        guard let query = readExactly(fd, Int(prefix[0]) << 8 | Int(prefix[1])) else { return }
        state.sync { seen.append(("tcp", query)) }
        guard let reply = tcp?(query) else { return }
        let framed = Wire.u16(UInt16(reply.count)) + reply
        _ = send(fd, framed, framed.count, Int32(MSG_NOSIGNAL))
    }

    private func readExactly(_ fd: Int32, _ count: Int) -> [UInt8]? {
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: max(count, 1))
        while out.count < count {
            let n = recv(fd, &chunk, count - out.count, 0)
            guard n > 0 else { return nil }
            out += chunk[0..<n]
        }
        return out
    }
}

final class DNSResolverTests: XCTestCase {
    private static let a1 = Wire.record(Wire.here, 1, [192, 0, 2, 1])

    /// Replies to every query by type, a type without an entry getting no
    /// answers (NODATA); with no entries at all, every name is NXDOMAIN.
    private func server(_ answers: [UInt16: [[UInt8]]]) throws -> FakeDNSServer {
        try FakeDNSServer { query in
            guard !answers.isEmpty, let (_, type) = FakeDNSServer.question(query) else {
                return [Wire.reply(to: query, flags: 0x8183, answers: [])]
            }
            return [Wire.reply(to: query, answers: answers[type] ?? [])]
        }
    }

    func testAnswerArrivesAfterForgeriesAreIgnored() throws {
        let fake = try FakeDNSServer { query in
            let forged = Wire.reply(to: query, answers: [Wire.record(Wire.here, 1, [6, 6, 6, 6])])
            var wrongID = forged
            wrongID[1] ^= 0x01
            var notAResponse = forged
            notAResponse[2] = 0x01
            var otherType = forged
            otherType[12 + Wire.name("mail.example.test").count + 1] = 28
            var otherName = forged
            otherName[13] = UInt8(ascii: "x")
            return [
                wrongID, notAResponse, otherType, otherName, [1, 2, 3], [],
                Wire.reply(to: query, answers: [Self.a1]),
            ]
        }
        defer { fake.stop() }
        let resolver = DNSResolver(servers: [fake.server], timeout: 1, attempts: 1)
        let response = try resolver.query("Mail.Example.Test", .a)
        XCTAssertEqual(
            response.answers, [DNSRecord(name: "mail.example.test", type: 1, ttl: 300, data: .a([192, 0, 2, 1]))])
        XCTAssertEqual(response.rcode, 0)
        XCTAssertFalse(response.truncated)
        XCTAssertEqual(fake.queries.count, 1)
    }

    func testQueriesCarryRandomIDsAndRecursionDesired() throws {
        let fake = try server([1: [Self.a1]])
        defer { fake.stop() }
        let resolver = DNSResolver(servers: [fake.server], timeout: 1)
        for _ in 0..<8 { _ = try resolver.query("a.test", .a) }
        let queries = fake.queries.map(\.query)
        XCTAssertGreaterThan(Set(queries.map { Array($0[0..<2]) }).count, 1)
        XCTAssertTrue(queries.allSatisfy { $0[2] == 0x01 && $0[3] == 0x00 })
    }

    func testNXDomainThrowsAndIsNotRetried() throws {
        let fake = try server([:])
        defer { fake.stop() }
        let resolver = DNSResolver(servers: [fake.server, fake.server], timeout: 1, attempts: 2)
        XCTAssertThrowsError(try resolver.query("nothing.test", .a)) { XCTAssertEqual($0 as? DNSError, .nameError) }
        XCTAssertEqual(fake.queries.count, 1)
    }

    func testNoDataIsAnEmptyAnswer() throws {
        let fake = try server([1: []])
        defer { fake.stop() }
        let resolver = DNSResolver(servers: [fake.server], timeout: 1)
        XCTAssertEqual(try resolver.query("a.test", .a).answers, [])
        XCTAssertEqual(try resolver.addresses("a.test"), [])
    }

    func testServerFailureMovesOnToTheNextServer() throws {
        let failing = try FakeDNSServer { [Wire.reply(to: $0, flags: 0x8182, answers: [])] }
        defer { failing.stop() }
        let good = try server([1: [Self.a1]])
        defer { good.stop() }
        let resolver = DNSResolver(servers: [failing.server, good.server], timeout: 1, attempts: 1)
        XCTAssertEqual(try resolver.addresses("a.test"), ["192.0.2.1"])
        let alone = DNSResolver(servers: [failing.server], timeout: 1, attempts: 2)
        XCTAssertThrowsError(try alone.query("a.test", .a)) {
            XCTAssertEqual($0 as? DNSError, .serverFailure(rcode: 2))
        }
    }

    func testUnreachableServerIsSkipped() throws {
        let good = try server([1: [Self.a1]])
        defer { good.stop() }
        let dead = DNSServer(host: "127.0.0.1", port: FakeDNSServer.deadPort())
        let resolver = DNSResolver(servers: [dead, good.server], timeout: 1, attempts: 1)
        XCTAssertEqual(try resolver.addresses("a.test"), ["192.0.2.1"])
        let onlyDead = DNSResolver(servers: [dead], timeout: 0.3, attempts: 1)
        XCTAssertThrowsError(try onlyDead.query("a.test", .a)) { error in
            XCTAssertTrue([.io(errno: ECONNREFUSED), .timeout].contains(error as? DNSError), "\(error)")
        }
    }

    func testSilentServerTimesOut() throws {
        let silent = try FakeDNSServer { _ in [] }
        defer { silent.stop() }
        let resolver = DNSResolver(servers: [silent.server], timeout: 0.15, attempts: 2)
        let start = DispatchTime.now()
        XCTAssertThrowsError(try resolver.query("a.test", .a)) { XCTAssertEqual($0 as? DNSError, .timeout) }
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
        XCTAssertGreaterThanOrEqual(elapsed, 0.29)
        XCTAssertLessThan(elapsed, 1.5)
        XCTAssertEqual(silent.queries.count, 2)
    }

    func testTruncatedAnswerIsRetriedOverTCP() throws {
        let many = (1...40).map { Wire.record(Wire.here, 1, [10, 0, 0, UInt8($0)]) }
        let fake = try FakeDNSServer(
            udp: { [Wire.reply(to: $0, flags: 0x8380, answers: [])] },
            tcp: { Wire.reply(to: $0, answers: many) })
        defer { fake.stop() }
        let resolver = DNSResolver(servers: [fake.server], timeout: 1, attempts: 1)
        let addresses = try resolver.addresses("big.test")
        XCTAssertEqual(addresses.count, 40)
        XCTAssertEqual(addresses.first, "10.0.0.1")
        XCTAssertEqual(fake.queries.map(\.transport), ["udp", "tcp", "udp", "tcp"])
    }

    func testTCPAnswerMustMatchTheQuery() throws {
        let fake = try FakeDNSServer(
            udp: { [Wire.reply(to: $0, flags: 0x8380, answers: [])] },
            tcp: { query in
                var reply = Wire.reply(to: query, answers: [Self.a1])
                reply[0] ^= 0xFF
                return reply
            })
        defer { fake.stop() }
        let resolver = DNSResolver(servers: [fake.server], timeout: 1, attempts: 1)
        XCTAssertThrowsError(try resolver.query("a.test", .a)) {
            XCTAssertEqual($0 as? DNSError, .malformed("TCP answer does not match the query"))
        }
    }

    func testMXAreSortedByPreference() throws {
        let fake = try server([
            15: [
                Wire.record(Wire.here, 15, Wire.u16(20) + Wire.name("b", pointer: 12)),
                Wire.record(Wire.here, 15, Wire.u16(10) + Wire.name("a", pointer: 12)),
                Wire.record(Wire.here, 15, Wire.u16(10) + Wire.name("C", pointer: 12)),
                Wire.record(Wire.name("other.test"), 15, Wire.u16(0) + Wire.name("evil.test")),
            ]
        ])
        defer { fake.stop() }
        let resolver = DNSResolver(servers: [fake.server], timeout: 1)
        let hosts = try resolver.mx("example.test")
        XCTAssertEqual(hosts.map(\.preference), [10, 10, 20])
        XCTAssertEqual(hosts.map(\.exchange), ["a.example.test", "c.example.test", "b.example.test"])
    }

    func testAddressesAreAThenAAAAAsText() throws {
        let v6: [UInt8] = [0x20, 0x01, 0x0D, 0xB8] + [UInt8](repeating: 0, count: 11) + [1]
        let fake = try server([
            1: [Self.a1, Wire.record(Wire.here, 1, [192, 0, 2, 2])],
            28: [Wire.record(Wire.here, 28, v6)],
        ])
        defer { fake.stop() }
        let resolver = DNSResolver(servers: [fake.server], timeout: 1)
        XCTAssertEqual(try resolver.addresses("host.test"), ["192.0.2.1", "192.0.2.2", "2001:db8::1"])
    }

    func testCNAMEChainIsFollowedAndStrangersDropped() throws {
        // www.test → alias.test → its A. The CNAME record starts at 12+10+4=26,
        // its RDATA (the alias's name) at 26+2+10=38.
        let fake = try server([
            1: [
                Wire.record(Wire.here, 5, Wire.name("alias.test")),
                Wire.record([0xC0, 38], 1, [192, 0, 2, 7]),
                Wire.record(Wire.name("evil.test"), 1, [6, 6, 6, 6]),
            ]
        ])
        defer { fake.stop() }
        let resolver = DNSResolver(servers: [fake.server], timeout: 1)
        XCTAssertEqual(try resolver.addresses("www.test"), ["192.0.2.7"])
    }

    func testReverseLookup() throws {
        let fake = try server([12: [Wire.record(Wire.here, 12, Wire.name("Mail.Example.Test"))]])
        defer { fake.stop() }
        let resolver = DNSResolver(servers: [fake.server], timeout: 1)
        XCTAssertEqual(try resolver.ptr("192.0.2.5"), ["mail.example.test"])
        XCTAssertEqual(try resolver.ptr("::ffff:192.0.2.5"), ["mail.example.test"])
        _ = try resolver.ptr("2001:db8::1")
        let names = fake.queries.compactMap { FakeDNSServer.question($0.query)?.name }
        XCTAssertEqual(
            names,
            [
                "5.2.0.192.in-addr.arpa", "5.2.0.192.in-addr.arpa",
                "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa",
            ])
        XCTAssertThrowsError(try resolver.ptr("not-an-ip")) { error in
            guard case .badName = error as? DNSError else { return XCTFail("\(error)") }
        }
    }

    func testTXTJoinsTheStringsOfEachRecord() throws {
        let fake = try server([
            16: [
                Wire.record(Wire.here, 16, Wire.txt([Array("v=spf1 ".utf8), Array("-all".utf8)])),
                Wire.record(Wire.here, 16, Wire.txt([Array("second".utf8)])),
            ]
        ])
        defer { fake.stop() }
        let resolver = DNSResolver(servers: [fake.server], timeout: 1)
        XCTAssertEqual(try resolver.txt("example.test"), ["v=spf1 -all", "second"])
    }

    func testBadNamesAndMissingServersFailWithoutSending() {
        let resolver = DNSResolver(servers: [DNSServer(host: "resolver.example"), DNSServer(host: "")])
        XCTAssertThrowsError(try resolver.query("ok.test", .a)) { XCTAssertEqual($0 as? DNSError, .noServers) }
        XCTAssertThrowsError(try resolver.query("bad name", .a)) { error in
            guard case .badName = error as? DNSError else { return XCTFail("\(error)") }
        }
    }
}
