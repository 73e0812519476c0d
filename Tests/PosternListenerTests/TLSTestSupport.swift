import COpenSSL
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import XCTest

@testable import PosternListener

/// Certificates made with the `openssl` command once per test run, in a
/// temporary directory.
final class TLSTestFiles: @unchecked Sendable {
    static let shared: Result<TLSTestFiles, Error> = Result { try TLSTestFiles() }

    struct TestFailure: Error, CustomStringConvertible {
        var description: String
    }

    let directory: String
    var cert: String { directory + "/server.pem" }
    var key: String { directory + "/server.key" }
    var otherKey: String { directory + "/other.key" }
    var caCert: String { directory + "/ca.pem" }
    var expiredCert: String { directory + "/expired.pem" }
    var futureCert: String { directory + "/future.pem" }
    var soonCert: String { directory + "/soon.pem" }
    var leafKey: String { directory + "/leaf.key" }
    var clientCert: String { directory + "/client.pem" }
    var clientKey: String { directory + "/client.key" }
    var clientScript: String { directory + "/client.py" }

    private init() throws {
        let template = NSTemporaryDirectory() + "postern-tls-XXXXXX"
        var path = Array(template.utf8CString)
        guard mkdtemp(&path) != nil else { throw TestFailure(description: "mkdtemp failed") }
        directory = String(cString: path)
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
        // A self-signed server certificate and its key.
        try Self.openssl(
            ["req", "-x509"] + ec + ["-keyout", key, "-out", cert, "-days", "365", "-subj", "/CN=localhost"],
            in: directory)
        try Self.openssl(
            ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", otherKey], in: directory)
        // A CA that signs certificates with chosen dates (`openssl ca` takes
        // -startdate/-enddate; `x509 -days` cannot go back in time).
        try Self.openssl(
            ["req", "-x509"] + ec + [
                "-keyout", directory + "/ca.key", "-out", caCert, "-days", "3650", "-subj", "/CN=Postern Test CA",
            ],
            in: directory)
        try Self.openssl(
            ["req"] + ec + ["-keyout", leafKey, "-out", directory + "/leaf.csr", "-subj", "/CN=mail.example"],
            in: directory)
        try Self.openssl(
            ["req"] + ec + ["-keyout", clientKey, "-out", directory + "/client.csr", "-subj", "/CN=client.example"],
            in: directory)
        try FileManager.default.createDirectory(atPath: directory + "/db", withIntermediateDirectories: true)
        try "".write(toFile: directory + "/db/index.txt", atomically: true, encoding: .utf8)
        try "1000\n".write(toFile: directory + "/db/serial", atomically: true, encoding: .utf8)
        try """
        [ ca ]
        default_ca = test
        [ test ]
        database = db/index.txt
        serial = db/serial
        new_certs_dir = db
        default_md = sha256
        policy = anything
        unique_subject = no
        [ anything ]
        commonName = supplied
        """.write(toFile: directory + "/ca.cnf", atomically: true, encoding: .utf8)
        let sign = ["ca", "-batch", "-notext", "-config", "ca.cnf", "-cert", "ca.pem", "-keyfile", "ca.key"]
        try Self.openssl(
            sign + [
                "-in", "leaf.csr", "-out", expiredCert, "-startdate", "19990101000000Z", "-enddate", "20000101000000Z",
            ],
            in: directory)
        try Self.openssl(
            sign + [
                "-in", "leaf.csr", "-out", futureCert, "-startdate", "20991231000000Z", "-enddate", "21001231000000Z",
            ],
            in: directory)
        try Self.openssl(sign + ["-in", "leaf.csr", "-out", soonCert, "-days", "10"], in: directory)
        try Self.openssl(sign + ["-in", "client.csr", "-out", clientCert, "-days", "30"], in: directory)
        try Self.clientPython.write(toFile: clientScript, atomically: true, encoding: .utf8)
    }

    static func openssl(_ arguments: [String], in directory: String) throws {
        let result = try run("/usr/bin/openssl", arguments, in: directory)
        guard result.status == 0 else {
            throw TestFailure(description: "openssl \(arguments.joined(separator: " ")): \(result.error)")
        }
    }

    struct RunResult {
        var status: Int32
        var output: String
        var error: String
    }

    /// Runs a program to its end (killed after `timeout` seconds).
    static func run(
        _ program: String, _ arguments: [String], in directory: String? = nil, environment: [String: String] = [:],
        timeout: TimeInterval = 15
    ) throws -> RunResult {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let killer = DispatchWorkItem { if process.isRunning { process.terminate() } }
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: killer)
        let errorData = NIOLockedValueBox(Data())
        let errorDone = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            let data = stderr.fileHandleForReading.readDataToEndOfFile()
            errorData.withLockedValue { $0 = data }
            errorDone.signal()
        }
        let out = stdout.fileHandleForReading.readDataToEndOfFile()
        errorDone.wait()
        process.waitUntilExit()
        killer.cancel()
        return RunResult(
            status: process.terminationStatus, output: String(decoding: out, as: UTF8.self),
            error: String(decoding: errorData.withLockedValue { $0 }, as: UTF8.self))
    }

    /// Runs the Python TLS client; its JSON lines, one dictionary each.
    func client(_ mode: String, port: Int, _ extra: [String] = [], environment: [String: String] = [:]) throws
        -> [[String: Any]]
    {
        let result = try Self.run(
            "/usr/bin/python3", [clientScript, mode, String(port)] + extra, environment: environment)
        guard result.status == 0 else {
            throw TestFailure(description: "client \(mode) exited \(result.status): \(result.error)")
        }
        return try result.output.split(separator: "\n").map { line in
            guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                throw TestFailure(description: "client \(mode) printed \(line)")
            }
            return object
        }
    }

    static let clientPython = #"""
        import hashlib, json, os, select, socket, ssl, sys, warnings

        warnings.simplefilter("ignore")
        mode, port = sys.argv[1], int(sys.argv[2])
        TIMEOUT = 8


        def context(maximum=None):
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            if maximum is not None:
                if maximum < ssl.TLSVersion.TLSv1_2:
                    # OpenSSL 3 allows TLS 1.0/1.1 only at security level 0.
                    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
                ctx.minimum_version = maximum
                ctx.maximum_version = maximum
            if os.environ.get("CLIENT_CERT"):
                ctx.load_cert_chain(os.environ["CLIENT_CERT"], os.environ["CLIENT_KEY"])
            return ctx


        class Conn:
            """TLS over memory BIOs: every record and the TCP end are seen as they are."""

            def __init__(self, maximum=None, handshake=True):
                self.incoming, self.outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
                self.obj = context(maximum).wrap_bio(self.incoming, self.outgoing)
                self.raw = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
                if handshake:
                    self.pump(self.obj.do_handshake)

            def send_pending(self):
                if self.outgoing.pending:
                    self.raw.sendall(self.outgoing.read())

            def pump(self, step):
                while True:
                    try:
                        result = step()
                        self.send_pending()
                        return result
                    except ssl.SSLWantReadError:
                        self.send_pending()
                        data = self.raw.recv(65536)
                        if not data:
                            raise EOFError("TCP end without close_notify")
                        self.incoming.write(data)

            def write(self, data):
                self.obj.write(data)
                self.send_pending()

            def read_exactly(self, n):
                data = bytearray()
                while len(data) < n:
                    data += self.pump(lambda: self.obj.read(n - len(data)))
                return bytes(data)

            def send_close_notify(self):
                try:
                    self.obj.unwrap()
                except ssl.SSLWantReadError:
                    pass
                self.send_pending()

            def ends_with_close_notify(self):
                try:
                    extra = self.pump(lambda: self.obj.read(1))
                    # Python returns b"" for a close_notify when it has not sent its own.
                    return "close_notify" if extra == b"" else "data after the end: %r" % extra
                except ssl.SSLZeroReturnError:
                    return "close_notify"
                except EOFError as e:
                    return str(e)


        def out(**kw):
            print(json.dumps(kw), flush=True)


        if mode == "echo":
            c = Conn()
            c.write(b"hello over tls\n")
            echo = c.read_exactly(15)
            c.send_close_notify()
            out(version=c.obj.version(), cipher=c.obj.cipher()[0], echo=echo.decode(errors="replace"), end=c.ends_with_close_notify())
        elif mode in ("tls11", "tls12"):
            try:
                c = Conn(ssl.TLSVersion.TLSv1_1 if mode == "tls11" else ssl.TLSVersion.TLSv1_2)
                c.write(b"x\n")
                c.read_exactly(2)
                out(connected=True, version=c.obj.version(), cipher=c.obj.cipher()[0])
            except (ssl.SSLError, OSError, EOFError) as e:
                out(connected=False, error=str(e))
        elif mode == "garbage":
            raw = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
            raw.sendall(b"EHLO this is not a ClientHello\r\n" * 4)
            received = bytearray()
            try:
                while True:
                    chunk = raw.recv(4096)
                    if not chunk:
                        break
                    received += chunk
                out(closed=True, received=received.hex())
            except socket.timeout:
                out(closed=False, received=received.hex())
        elif mode in ("abort", "halfclose"):
            # A real ClientHello, the server's first flight read, then the client leaves.
            c = Conn(handshake=False)
            try:
                c.obj.do_handshake()
            except ssl.SSLWantReadError:
                pass
            c.send_pending()
            first = c.raw.recv(65536)
            if mode == "abort":
                c.raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                c.raw.close()  # RST
                out(serverFlight=len(first))
            else:
                c.raw.shutdown(socket.SHUT_WR)
                try:
                    while c.raw.recv(4096):
                        pass
                    out(serverFlight=len(first), closed=True)
                except socket.timeout:
                    out(serverFlight=len(first), closed=False)
        elif mode == "halfecho":
            # TLS 1.3 half-close: the client sends close_notify, the server still answers.
            c = Conn()
            c.write(b"hello\n")
            echo = c.read_exactly(6)
            c.send_close_notify()
            after = c.read_exactly(4)
            out(version=c.obj.version(), echo=echo.decode(), after=after.decode(), end=c.ends_with_close_notify())
        elif mode == "serverclose":
            c = Conn()
            c.write(b"QUIT\n")
            reply = c.read_exactly(4)
            out(reply=reply.decode(), end=c.ends_with_close_notify())
        elif mode == "big":
            # Both directions at once, from one thread (an SSL object is not for two threads).
            n = int(sys.argv[3])
            payload = os.urandom(n)
            c = Conn()
            c.raw.setblocking(False)
            sent, pending, echo = 0, b"", bytearray()
            while len(echo) < n:
                if sent < n and len(pending) < 65536:
                    c.obj.write(payload[sent:sent + 16384])
                    sent = min(n, sent + 16384)
                    pending += c.outgoing.read()
                readable, writable, _ = select.select([c.raw], [c.raw] if pending else [], [], TIMEOUT)
                if not readable and not writable:
                    break
                if writable:
                    pending = pending[c.raw.send(pending):]
                if readable:
                    data = c.raw.recv(65536)
                    if not data:
                        break
                    c.incoming.write(data)
                    while True:
                        try:
                            echo += c.obj.read(65536)
                        except ssl.SSLWantReadError:
                            break
            sent_hash, received_hash = hashlib.sha256(payload).hexdigest(), hashlib.sha256(echo).hexdigest()
            out(version=c.obj.version(), sent=sent_hash, received=received_hash, length=len(echo))
        elif mode == "clientcert":
            c = Conn()
            c.write(b"x\n")
            c.read_exactly(2)
            out(version=c.obj.version())
        """#
}

/// The test's certificate files, or a skip-free failure explaining why they could not be made.
func tlsFiles(file: StaticString = #filePath, line: UInt = #line) throws -> TLSTestFiles {
    switch TLSTestFiles.shared {
    case .success(let files): return files
    case .failure(let error):
        XCTFail("cannot make test certificates: \(error)", file: file, line: line)
        throw error
    }
}

/// What the echo server saw.
struct TLSServerLog {
    var handshakes: [TLSSessionInfo] = []
    var errors: [Error] = []
    var inactive = 0
    var inputClosed = 0
    var tlsErrors: [TLSError] { errors.compactMap { $0 as? TLSError } }
}

/// A NIO server on 127.0.0.1 with `TLSServerHandler` and an echo handler:
/// it echoes what it reads, answers `QUIT\n` with `BYE\n` and a close.
final class TLSEchoServer: @unchecked Sendable {
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    let log = NIOLockedValueBox(TLSServerLog())
    private var channel: Channel?
    private(set) var port = 0

    init(context: TLSContext, halfClosure: Bool = false) throws {
        let log = self.log
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.allowRemoteHalfClosure, value: halfClosure)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let tls = TLSServerHandler(context: context) { info in
                        log.withLockedValue { $0.handshakes.append(info) }
                    }
                    try channel.pipeline.syncOperations.addHandlers(tls, TLSEchoHandler(log: log))
                }
            }
        do {
            let channel = try bootstrap.bind(host: "127.0.0.1", port: 0).wait()
            self.channel = channel
            port = channel.localAddress?.port ?? 0
        } catch {
            try? group.syncShutdownGracefully()
            throw error
        }
    }

    /// Waits up to `timeout` seconds for the log to satisfy `condition`.
    @discardableResult
    func wait(timeout: TimeInterval = 5, until condition: (TLSServerLog) -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if log.withLockedValue({ condition($0) }) { return true }
            usleep(10_000)
        }
        return log.withLockedValue { condition($0) }
    }

    var snapshot: TLSServerLog { log.withLockedValue { $0 } }

    func stop() {
        try? channel?.close().wait()
        try? group.syncShutdownGracefully()
    }
}

final class TLSEchoHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    let log: NIOLockedValueBox<TLSServerLog>

    init(log: NIOLockedValueBox<TLSServerLog>) { self.log = log }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        if buffer.readableBytesView.elementsEqual("QUIT\n".utf8) {
            sayGoodbye(context)
            return
        }
        context.write(wrapOutboundOut(buffer), promise: nil)
    }

    func channelReadComplete(context: ChannelHandlerContext) { context.flush() }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed {
            log.withLockedValue { $0.inputClosed += 1 }
            sayGoodbye(context)
        }
    }

    private func sayGoodbye(_ context: ChannelHandlerContext) {
        context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: "BYE\n"))).assumeIsolated().whenComplete { _ in
            context.close(promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        log.withLockedValue { $0.errors.append(error) }
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        log.withLockedValue { $0.inactive += 1 }
        context.fireChannelInactive()
    }
}

/// An OpenSSL client context that does not verify (the tests' server is self-signed).
final class TLSTestClientContext {
    let pointer: OpaquePointer

    init() throws {
        guard let method = TLS_client_method(), let ctx = SSL_CTX_new(method) else {
            throw TLSTestFiles.TestFailure(description: "SSL_CTX_new failed")
        }
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nil)
        pointer = ctx
    }

    func session() throws -> TLSSession { try TLSSession(sslContext: pointer, isServer: false, owner: self) }

    deinit { SSL_CTX_free(pointer) }
}
