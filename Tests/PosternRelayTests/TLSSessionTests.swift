import Foundation
import Glibc
import PosternCore
import XCTest

@testable import PosternRelay

/// Real handshakes with real OpenSSL against Python servers on 127.0.0.1.
final class TLSSessionTests: XCTestCase {
    private var servers: [RelayTLSTestServer] = []
    private var sockets: [Int32] = []
    private var fixtures: RelayTLSFixtures!
    private var context: OutboundTLSContext!

    override func setUpWithError() throws {
        fixtures = try relayTLSFixtures()
        context = try OutboundTLSContext(caBundlePath: fixtures.caCert)
    }

    override func tearDown() {
        sockets.forEach { _ = close($0) }
        servers.forEach { $0.stop() }
        sockets = []
        servers = []
    }

    private func server(_ mode: String = "tls", _ options: [String: String] = [:]) throws -> Int {
        let server = try RelayTLSTestServer(fixtures, mode: mode, options)
        servers.append(server)
        return server.port
    }

    /// A `tls` server presenting `cert` (the trusted localhost certificate by default).
    private func tlsServer(cert: String? = nil, key: String? = nil, _ options: [String: String] = [:]) throws -> Int {
        try server(
            "tls",
            options.merging(["cert": cert ?? fixtures.serverCert, "key": key ?? fixtures.serverKey]) { $1 })
    }

    private func connect(_ port: Int) throws -> Int32 {
        let fd = try connectLoopback(port)
        sockets.append(fd)
        return fd
    }

    private func session(
        port: Int, peerName: String = "localhost", verify: Bool = true, context: OutboundTLSContext? = nil,
        seconds: Double = 5
    ) throws -> OutboundTLSSession {
        try OutboundTLSSession(
            context: context ?? self.context, socket: connect(port), peerName: peerName, verify: verify,
            deadline: .after(seconds: seconds))
    }

    private func handshakeError(
        port: Int, peerName: String = "localhost", verify: Bool = true, context: OutboundTLSContext? = nil,
        seconds: Double = 5
    ) throws -> OutboundTLSError? {
        let fd = try connect(port)
        return outboundTLSError {
            _ = try OutboundTLSSession(
                context: context ?? self.context, socket: fd, peerName: peerName, verify: verify,
                deadline: .after(seconds: seconds))
        }
    }

    // MARK: Verification

    func testVerifiedHandshakeWithTheRightCAAndName() throws {
        let port = try tlsServer()
        let fd = try connect(port)
        let session = try OutboundTLSSession(
            context: context, socket: fd, peerName: "localhost", verify: true, deadline: .after(seconds: 5))
        XCTAssertEqual(session.info.version, "TLSv1.3")
        XCTAssertTrue(session.info.cipher.hasPrefix("TLS_"), session.info.cipher)
        XCTAssertGreaterThanOrEqual(session.info.bits, 128)
        XCTAssertEqual(session.info.peerCommonName, "localhost")
        XCTAssertTrue(session.info.verified)
        XCTAssertNil(session.info.verificationError)
        XCTAssertTrue(session.info.description.hasPrefix("TLSv1.3 with cipher TLS_"), session.info.description)
        XCTAssertTrue(session.info.description.hasSuffix(", peer CN=localhost, verified=yes"), session.info.description)
        // SNI carried the name.
        XCTAssertEqual(try TLSLineReader(session).line(), "220 ready sni=localhost")
        // The socket is borrowed: still open, still blocking, as the I/O layer left it.
        XCTAssertEqual(fcntl(fd, F_GETFL) & O_NONBLOCK, 0)
    }

    func testAddressLiteralVerifiesAgainstTheIPSubjectAltNameWithoutSNI() throws {
        let port = try tlsServer()
        for name in ["127.0.0.1", "[127.0.0.1]"] {
            let session = try session(port: port, peerName: name)
            XCTAssertTrue(session.info.verified, name)
            XCTAssertEqual(try TLSLineReader(session).line(), "220 ready sni=-", name)
        }
    }

    func testTrailingDotAndCaseInTheNameStillVerify() throws {
        let port = try tlsServer()
        let session = try session(port: port, peerName: "LocalHost.")
        XCTAssertTrue(session.info.verified)
        XCTAssertEqual(try TLSLineReader(session).line(), "220 ready sni=localhost")
    }

    func testWrongNameFailsWhenVerifying() throws {
        let port = try tlsServer()
        let error = try handshakeError(port: port, peerName: "mail.example")
        guard case .verificationFailed(let reason) = error else { return XCTFail("\(String(describing: error))") }
        XCTAssertTrue(reason.lowercased().contains("hostname mismatch"), reason)
        let addressError = try handshakeError(port: port, peerName: "127.0.0.2")
        guard case .verificationFailed(let addressReason) = addressError else {
            return XCTFail("\(String(describing: addressError))")
        }
        XCTAssertTrue(addressReason.lowercased().contains("ip address mismatch"), addressReason)
    }

    func testWrongNameWithoutVerificationConnectsAndRecordsWhy() throws {
        let port = try tlsServer()
        let session = try session(port: port, peerName: "mail.example", verify: false)
        XCTAssertFalse(session.info.verified)
        XCTAssertEqual(session.info.verificationError?.lowercased(), "hostname mismatch")
        XCTAssertTrue(session.info.description.lowercased().hasSuffix("verified=no (hostname mismatch)"))
        let reader = TLSLineReader(session)
        XCTAssertEqual(try reader.line(), "220 ready sni=mail.example")
        try session.write(Array("NOOP\r\n".utf8), deadline: .after(seconds: 5))
        XCTAssertEqual(try reader.line(), "250 NOOP")
    }

    func testUntrustedCAFailsWhenVerifyingAndIsRecordedWhenNot() throws {
        let port = try tlsServer(cert: fixtures.rogueCert, key: fixtures.rogueKey)
        let error = try handshakeError(port: port)
        guard case .verificationFailed(let reason) = error else { return XCTFail("\(String(describing: error))") }
        XCTAssertTrue(reason.contains("unable to get local issuer certificate"), reason)

        let session = try session(port: port, verify: false)
        XCTAssertFalse(session.info.verified)
        XCTAssertEqual(session.info.peerCommonName, "localhost")
        XCTAssertEqual(session.info.verificationError, "unable to get local issuer certificate")
        XCTAssertEqual(try TLSLineReader(session).line(), "220 ready sni=localhost")
    }

    func testWildcardMatchesOneWholeLabelOnly() throws {
        let port = try tlsServer(cert: fixtures.wildcardCert, key: fixtures.wildcardKey)
        let session = try session(port: port, peerName: "mx.example.test")
        XCTAssertTrue(session.info.verified)
        XCTAssertEqual(session.info.peerCommonName, "*.example.test")
        for name in ["a.mx.example.test", "example.test", "mx1.partial.test"] {
            let error = try handshakeError(port: port, peerName: name)
            guard case .verificationFailed = error else { return XCTFail("\(name): \(String(describing: error))") }
        }
    }

    func testVerificationWithoutACABundleIsRefusedBeforeAnyIO() throws {
        let missing = try OutboundTLSContext(caBundlePath: fixtures.directory + "/missing.pem")
        let silent = try server("silent")
        let started = MonotonicClock.now()
        let error = try handshakeError(port: silent, context: missing, seconds: 5)
        XCTAssertLessThan(MonotonicClock.now() - started, 1)
        guard case .verificationUnavailable(let reason) = error else {
            return XCTFail("\(String(describing: error))")
        }
        XCTAssertTrue(reason.contains("No such file or directory"), reason)

        // Without verification the same context still encrypts, and says why nothing verified.
        let session = try session(port: try tlsServer(), verify: false, context: missing)
        XCTAssertFalse(session.info.verified)
        XCTAssertTrue(session.info.verificationError?.hasPrefix("no CA bundle: cannot read ") == true)
        XCTAssertEqual(try TLSLineReader(session).line(), "220 ready sni=localhost")
    }

    func testTheCABundleIsReadOnceSoVerificationWorksAfterTheFileIsGone() throws {
        // What the chroot does to the relay: the path no longer resolves.
        let copy = fixtures.directory + "/bundle-\(UUID().uuidString).pem"
        try FileManager.default.copyItem(atPath: fixtures.caCert, toPath: copy)
        let early = try OutboundTLSContext(caBundlePath: copy)
        try FileManager.default.removeItem(atPath: copy)
        let session = try session(port: try tlsServer(), context: early)
        XCTAssertTrue(session.info.verified)
    }

    func testInvalidPeerNamesAreRefusedBeforeAnyIO() throws {
        let silent = try server("silent")
        for name in ["", "mx example.test", "mx\u{0}.example.test", "mx..example.test", "[mx.example.test]"] {
            XCTAssertEqual(try handshakeError(port: silent, peerName: name), .invalidPeerName(name), name)
        }
    }

    // MARK: Versions and ciphers

    func testTLS12UsesECDHEWithAnAEADCipher() throws {
        let session = try session(port: try tlsServer(["version": "tls1_2"]))
        XCTAssertEqual(session.info.version, "TLSv1.2")
        XCTAssertTrue(session.info.cipher.hasPrefix("ECDHE-ECDSA-"), session.info.cipher)
        XCTAssertTrue(
            session.info.cipher.contains("GCM") || session.info.cipher.contains("CHACHA20"), session.info.cipher)
        XCTAssertTrue(session.info.verified)
    }

    func testTLS11OnlyServerIsRefused() throws {
        let error = try handshakeError(port: try tlsServer(["version": "tls1_1"]))
        guard case .handshakeFailed(let reason) = error else { return XCTFail("\(String(describing: error))") }
        XCTAssertTrue(reason.contains("protocol version"), reason)
    }

    func testServerOfferingOnlyCBCCiphersIsRefused() throws {
        let port = try tlsServer(["version": "tls1_2", "ciphers": "ECDHE-ECDSA-AES128-SHA"])
        let error = try handshakeError(port: port, verify: false)
        guard case .handshakeFailed = error else { return XCTFail("\(String(describing: error))") }
    }

    // MARK: Data

    func testDataRoundTripsBothWays() throws {
        let session = try session(port: try tlsServer())
        let reader = TLSLineReader(session)
        XCTAssertEqual(try reader.line(), "220 ready sni=localhost")
        try session.write(Array("EHLO relay.example.org\r\n".utf8), deadline: .after(seconds: 5))
        XCTAssertEqual(try reader.line(), "250 EHLO relay.example.org")

        // Server to client: many records, read in pieces.
        let download = 300_000
        try session.write(Array("SEND \(download)\r\n".utf8), deadline: .after(seconds: 5))
        XCTAssertEqual(try reader.bytes(download), relayTLSPattern(download))

        // Client to server: one write of many records; the server checks every byte.
        let upload = 1_000_000
        try session.write(Array("SINK \(upload)\r\n".utf8), deadline: .after(seconds: 5))
        try session.write(relayTLSPattern(upload), deadline: .after(seconds: 10))
        XCTAssertEqual(try reader.line(), "250 \(upload) intact")
    }

    func testReadReturnsAtMostMaximumAndSaysWhatIsBuffered() throws {
        let session = try session(port: try tlsServer())
        XCTAssertEqual(try TLSLineReader(session).line(), "220 ready sni=localhost")
        XCTAssertFalse(session.hasBufferedInput)
        try session.write(Array("SEND 10000\r\n".utf8), deadline: .after(seconds: 5))
        var buffer: [UInt8] = [7]
        let count = try session.read(into: &buffer, maximum: 100, deadline: .after(seconds: 5))
        XCTAssertEqual(count, 100)
        XCTAssertEqual(buffer, [7] + relayTLSPattern(100))
        // The rest of the record was decrypted already: the socket need not be readable.
        XCTAssertTrue(session.hasBufferedInput)
    }

    func testServerCloseNotifyEndsReading() throws {
        let session = try session(port: try tlsServer())
        let reader = TLSLineReader(session)
        XCTAssertEqual(try reader.line(), "220 ready sni=localhost")
        try session.write(Array("QUIT\r\n".utf8), deadline: .after(seconds: 5))
        XCTAssertEqual(try reader.line(), "221 bye")
        XCTAssertEqual(
            outboundTLSError { _ = try reader.line() }, .connectionClosed(during: .read, reason: "close_notify"))
        XCTAssertEqual(outboundTLSError { _ = try reader.line() }, .sessionClosed)
        XCTAssertEqual(outboundTLSError { try session.write([1], deadline: .after(seconds: 1)) }, .sessionClosed)
    }

    func testServerDroppingTheConnectionWithoutCloseNotifyIsReported() throws {
        let session = try session(port: try tlsServer())
        let reader = TLSLineReader(session)
        XCTAssertEqual(try reader.line(), "220 ready sni=localhost")
        try session.write(Array("DROP\r\n".utf8), deadline: .after(seconds: 5))
        XCTAssertEqual(try reader.line(), "221 dropping")
        XCTAssertEqual(
            outboundTLSError { _ = try reader.line() },
            .connectionClosed(during: .read, reason: "end of stream without close_notify"))
    }

    func testShutdownSendsCloseNotifyAndLeavesTheSocketOpen() throws {
        let port = try tlsServer()
        let fd = try connect(port)
        let session = try OutboundTLSSession(
            context: context, socket: fd, peerName: "localhost", verify: true, deadline: .after(seconds: 5))
        XCTAssertEqual(try TLSLineReader(session).line(), "220 ready sni=localhost")
        session.shutdown()
        XCTAssertEqual(outboundTLSError { try session.write([1], deadline: .after(seconds: 1)) }, .sessionClosed)
        XCTAssertNotEqual(fcntl(fd, F_GETFD), -1)
        // The server reads the close_notify as the end and closes: our side sees the TCP end.
        XCTAssertTrue(Self.seesEndOfStream(fd, seconds: 5))
    }

    // MARK: Stalled and broken servers

    func testServerThatNeverAnswersTheClientHelloTimesOut() throws {
        let port = try server("silent")
        let started = MonotonicClock.now()
        let error = try handshakeError(port: port, seconds: 1)
        let elapsed = MonotonicClock.now() - started
        XCTAssertEqual(error, .timedOut(during: .handshake))
        XCTAssertGreaterThanOrEqual(elapsed, 0.99)
        XCTAssertLessThan(elapsed, 3)
    }

    func testServerClosingMidHandshakeFailsAtOnce() throws {
        let started = MonotonicClock.now()
        XCTAssertEqual(
            try handshakeError(port: try server("hangup"), seconds: 10),
            .connectionClosed(during: .handshake, reason: "end of stream without close_notify"))
        let error = try handshakeError(port: try server("reset"), seconds: 10)
        XCTAssertEqual(error, .connectionClosed(during: .handshake, reason: "Connection reset by peer"))
        XCTAssertLessThan(MonotonicClock.now() - started, 5)
    }

    func testServerThatIsNotSpeakingTLSFailsTheHandshake() throws {
        let error = try handshakeError(port: try server("garbage"), seconds: 10)
        guard case .handshakeFailed(let reason) = error else { return XCTFail("\(String(describing: error))") }
        XCTAssertFalse(reason.isEmpty)
    }

    func testReadTimesOutWhenTheServerSaysNothing() throws {
        let session = try session(port: try tlsServer())
        let reader = TLSLineReader(session)
        XCTAssertEqual(try reader.line(), "220 ready sni=localhost")
        let started = MonotonicClock.now()
        XCTAssertEqual(outboundTLSError { _ = try reader.line(seconds: 0.5) }, .timedOut(during: .read))
        let elapsed = MonotonicClock.now() - started
        XCTAssertGreaterThanOrEqual(elapsed, 0.49)
        XCTAssertLessThan(elapsed, 2.5)
        XCTAssertEqual(outboundTLSError { _ = try reader.line() }, .sessionClosed)
    }

    func testWriteTimesOutWhenTheServerStopsReading() throws {
        let session = try session(port: try tlsServer())
        XCTAssertEqual(try TLSLineReader(session).line(), "220 ready sni=localhost")
        try session.write(Array("STALL\r\n".utf8), deadline: .after(seconds: 5))
        // Far more than the loopback socket buffers hold.
        let started = MonotonicClock.now()
        let error = outboundTLSError {
            try session.write([UInt8](repeating: 0x41, count: 64 << 20), deadline: .after(seconds: 1.5))
        }
        let elapsed = MonotonicClock.now() - started
        XCTAssertEqual(error, .timedOut(during: .write))
        XCTAssertGreaterThanOrEqual(elapsed, 1.49)
        XCTAssertLessThan(elapsed, 5)
        // A stalled stream is still whole: close_notify may go out, bounded.
        let closing = MonotonicClock.now()
        session.shutdown(deadline: .after(seconds: 0.3))
        XCTAssertLessThan(MonotonicClock.now() - closing, 1)
    }

    /// Reads and discards until the TCP end (true) or `seconds` pass (false).
    private static func seesEndOfStream(_ fd: Int32, seconds: Double) -> Bool {
        let deadline = MonotonicDeadline.after(seconds: seconds)
        var scratch = [UInt8](repeating: 0, count: 4096)
        while let wait = deadline.remainingMilliseconds {
            var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&entry, 1, wait) > 0 else { continue }
            let count = recv(fd, &scratch, scratch.count, 0)
            if count == 0 { return true }
            if count < 0 && errno != EINTR { return false }
        }
        return false
    }
}
