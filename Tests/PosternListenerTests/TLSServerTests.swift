import Foundation
import NIOCore
import XCTest

@testable import PosternListener

/// The handler on real TCP connections from 127.0.0.1, with Python's ssl
/// module (the system OpenSSL) as the client.
final class TLSServerTests: XCTestCase {
    private var files: TLSTestFiles!
    private var server: TLSEchoServer?

    override func setUpWithError() throws {
        files = try tlsFiles()
    }

    override func tearDown() {
        server?.stop()
        server = nil
    }

    private func start(_ config: TLSConfiguration? = nil, halfClosure: Bool = false) throws -> TLSEchoServer {
        let context = try TLSContext(
            config ?? TLSConfiguration(certificateChainPath: files.cert, privateKeyPath: files.key))
        let server = try TLSEchoServer(context: context, halfClosure: halfClosure)
        self.server = server
        return server
    }

    private func assertEchoWorks(_ server: TLSEchoServer, file: StaticString = #filePath, line: UInt = #line) throws {
        let lines = try files.client("echo", port: server.port)
        XCTAssertEqual(lines.first?["echo"] as? String, "hello over tls\n", file: file, line: line)
        XCTAssertEqual(lines.first?["end"] as? String, "close_notify", "close_notify answered", file: file, line: line)
    }

    func testTLS13EchoAndHandshakeCallback() throws {
        let server = try start()
        let lines = try files.client("echo", port: server.port)
        XCTAssertEqual(lines.first?["version"] as? String, "TLSv1.3")
        XCTAssertEqual(lines.first?["echo"] as? String, "hello over tls\n")
        XCTAssertEqual(lines.first?["end"] as? String, "close_notify", "the server answered close_notify")
        XCTAssertTrue(server.wait { $0.inactive == 1 })
        let log = server.snapshot
        XCTAssertEqual(log.handshakes.count, 1)
        XCTAssertEqual(log.handshakes.first?.version, "TLSv1.3")
        XCTAssertEqual(log.handshakes.first?.cipher, lines.first?["cipher"] as? String)
        XCTAssertEqual(log.handshakes.first?.bits, 256)
        XCTAssertTrue(log.errors.isEmpty, "\(log.errors)")
    }

    func testTLS12WhenTheClientStopsThere() throws {
        let server = try start()
        let lines = try files.client("tls12", port: server.port)
        XCTAssertEqual(lines.first?["version"] as? String, "TLSv1.2")
        XCTAssertTrue(server.wait { $0.handshakes.count == 1 })
        let cipher = server.snapshot.handshakes.first?.cipher ?? ""
        XCTAssertTrue(
            cipher.hasPrefix("ECDHE-ECDSA-") && (cipher.contains("GCM") || cipher.contains("CHACHA20")), cipher)
    }

    func testMinimumTLS13RefusesTLS12() throws {
        let server = try start(
            TLSConfiguration(certificateChainPath: files.cert, privateKeyPath: files.key, minimumVersion: .tls13))
        let lines = try files.client("tls12", port: server.port)
        XCTAssertEqual(lines.first?["connected"] as? Bool, false)
        XCTAssertTrue(server.wait { !$0.tlsErrors.isEmpty })
        try assertEchoWorks(server)
    }

    func testTLS11ClientIsRefused() throws {
        let server = try start()
        let lines = try files.client("tls11", port: server.port)
        XCTAssertEqual(lines.first?["connected"] as? Bool, false, "\(lines)")
        let clientError = lines.first?["error"] as? String ?? ""
        XCTAssertTrue(clientError.uppercased().contains("PROTOCOL_VERSION"), clientError)
        XCTAssertTrue(server.wait { !$0.tlsErrors.isEmpty })
        guard case .handshakeFailed(let message) = server.snapshot.tlsErrors.first else {
            return XCTFail("\(server.snapshot.errors)")
        }
        XCTAssertTrue(message.contains("unsupported protocol"), message)
        XCTAssertTrue(server.snapshot.handshakes.isEmpty)
    }

    func testGarbageClosesThatConnectionOnly() throws {
        let server = try start()
        let lines = try files.client("garbage", port: server.port)
        XCTAssertEqual(lines.first?["closed"] as? Bool, true, "the server closed the connection")
        // What came back, if anything, is a TLS alert record (content type 21), never plaintext.
        let received = lines.first?["received"] as? String ?? ""
        XCTAssertTrue(received.isEmpty || received.hasPrefix("15"), received)
        XCTAssertTrue(server.wait { !$0.tlsErrors.isEmpty })
        guard case .handshakeFailed(let message) = server.snapshot.tlsErrors.first else {
            return XCTFail("\(server.snapshot.errors)")
        }
        XCTAssertTrue(message.contains("SSL routines"), message)
        try assertEchoWorks(server)
        XCTAssertEqual(server.snapshot.handshakes.count, 1)
    }

    func testClientGoneMidHandshake() throws {
        let server = try start()
        let lines = try files.client("abort", port: server.port)
        XCTAssertGreaterThan(lines.first?["serverFlight"] as? Int ?? 0, 0, "the server had answered the ClientHello")
        XCTAssertTrue(server.wait { $0.inactive == 1 && !$0.errors.isEmpty })
        XCTAssertEqual(
            server.snapshot.tlsErrors, [.closedDuringHandshake(reason: "Connection reset by peer")],
            "one error for one lost client: \(server.snapshot.errors)")
        XCTAssertTrue(server.snapshot.handshakes.isEmpty)
        try assertEchoWorks(server)
    }

    func testHalfCloseMidHandshakeWithHalfClosure() throws {
        let server = try start(halfClosure: true)
        let lines = try files.client("halfclose", port: server.port)
        XCTAssertEqual(lines.first?["closed"] as? Bool, true)
        XCTAssertTrue(server.wait { $0.tlsErrors.contains(.closedDuringHandshake(reason: "end of input")) })
        XCTAssertEqual(server.snapshot.inputClosed, 0, "the application never saw the half-open handshake")

        // The next client half-closes after its data: the application gets
        // the end of input and still answers before its own close_notify.
        let next = try files.client("halfecho", port: server.port)
        XCTAssertEqual(next.first?["version"] as? String, "TLSv1.3")
        XCTAssertEqual(next.first?["echo"] as? String, "hello\n")
        XCTAssertEqual(next.first?["after"] as? String, "BYE\n")
        XCTAssertEqual(next.first?["end"] as? String, "close_notify")
        XCTAssertTrue(server.wait { $0.inputClosed == 1 })
    }

    func testServerCloseSendsCloseNotify() throws {
        let server = try start()
        let lines = try files.client("serverclose", port: server.port)
        XCTAssertEqual(lines.first?["reply"] as? String, "BYE\n")
        XCTAssertEqual(lines.first?["end"] as? String, "close_notify", "close_notify before the TCP close")
    }

    func testOneMebibyteEchoedBothWays() throws {
        let server = try start()
        let size = 1 << 20
        let started = Date()
        let lines = try files.client("big", port: server.port, [String(size)])
        let elapsed = Date().timeIntervalSince(started)
        XCTAssertEqual(lines.first?["length"] as? Int, size)
        XCTAssertEqual(lines.first?["received"] as? String, lines.first?["sent"] as? String)
        XCTAssertLessThan(elapsed, 10)
        print("TLS echo of \(size) bytes each way: \(Int(elapsed * 1000)) ms including the client's start")
        XCTAssertTrue(server.snapshot.errors.isEmpty, "\(server.snapshot.errors)")
    }

    func testClientCertificateIsReported() throws {
        let server = try start(
            TLSConfiguration(
                certificateChainPath: files.cert, privateKeyPath: files.key, requestClientCertificate: true,
                caFilePath: files.caCert))
        let lines = try files.client(
            "clientcert", port: server.port,
            environment: ["CLIENT_CERT": files.clientCert, "CLIENT_KEY": files.clientKey])
        XCTAssertEqual(lines.first?["version"] as? String, "TLSv1.3")
        XCTAssertTrue(server.wait { $0.handshakes.count == 1 })
        XCTAssertEqual(server.snapshot.handshakes.first?.peerCertificateSubject, "CN=client.example")
        XCTAssertEqual(server.snapshot.handshakes.first?.peerCertificateVerified, true)

        // Asking is not requiring: a client without a certificate still gets in.
        try assertEchoWorks(server)
        XCTAssertTrue(server.wait { $0.handshakes.count == 2 })
        XCTAssertNil(server.snapshot.handshakes.last?.peerCertificateSubject)
    }
}
