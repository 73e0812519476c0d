import Foundation
import Glibc
import XCTest

@testable import PosternRelay

/// Certificates made with the `openssl` command once per test run, in a
/// temporary directory, and the Python script that serves TLS with them.
final class RelayTLSFixtures: @unchecked Sendable {
    static let shared: Result<RelayTLSFixtures, Error> = Result { try RelayTLSFixtures() }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    let directory: String
    /// The trusted test CA.
    var caCert: String { directory + "/ca.pem" }
    /// CN=localhost, SAN DNS:localhost and IP:127.0.0.1, signed by the test CA.
    var serverCert: String { directory + "/server.pem" }
    var serverKey: String { directory + "/server.key" }
    /// The same names, signed by a CA nobody trusts.
    var rogueCert: String { directory + "/rogue.pem" }
    var rogueKey: String { directory + "/rogue.key" }
    /// SAN DNS:*.example.test and the partial wildcard DNS:mx*.partial.test.
    var wildcardCert: String { directory + "/wildcard.pem" }
    var wildcardKey: String { directory + "/wildcard.key" }
    /// A file that holds no certificate.
    var garbageBundle: String { directory + "/garbage.pem" }
    var serverScript: String { directory + "/server.py" }

    private init() throws {
        var template = Array((NSTemporaryDirectory() + "postern-relay-tls-XXXXXX").utf8CString)
        guard mkdtemp(&template) != nil else { throw Failure(description: "mkdtemp failed") }
        directory = String(cString: template)
        try Self.extensions.write(toFile: directory + "/x509.cnf", atomically: true, encoding: .utf8)
        try "this is not a certificate\n".write(toFile: garbageBundle, atomically: true, encoding: .utf8)
        try Self.serverPython.write(toFile: serverScript, atomically: true, encoding: .utf8)
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-config", "x509.cnf"]
        for (name, subject) in [("ca", "Postern Relay Test CA"), ("rogue-ca", "Rogue CA")] {
            try openssl(
                ["req", "-x509"] + ec + [
                    "-extensions", "ca_ext", "-keyout", name + ".key", "-out", name + ".pem", "-days", "30",
                    "-subj", "/CN=" + subject,
                ])
        }
        let leaves = [
            ("server", "localhost", "ca", "server_ext"), ("rogue", "localhost", "rogue-ca", "server_ext"),
            ("wildcard", "*.example.test", "ca", "wildcard_ext"),
        ]
        for (serial, (name, commonName, issuer, section)) in leaves.enumerated() {
            try openssl(
                ["req", "-new"] + ec + ["-keyout", name + ".key", "-out", name + ".csr", "-subj", "/CN=" + commonName])
            try openssl([
                "x509", "-req", "-in", name + ".csr", "-CA", issuer + ".pem", "-CAkey", issuer + ".key",
                "-set_serial", String(serial + 2), "-days", "30", "-extfile", "x509.cnf", "-extensions", section,
                "-out", name + ".pem",
            ])
        }
    }

    private func openssl(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let message = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failure(
                description: "openssl \(arguments.joined(separator: " ")): \(String(decoding: message, as: UTF8.self))")
        }
    }

    static let extensions = """
        [ req ]
        distinguished_name = dn
        [ dn ]
        [ ca_ext ]
        basicConstraints = critical, CA:TRUE
        keyUsage = critical, keyCertSign, cRLSign
        subjectKeyIdentifier = hash
        [ server_ext ]
        basicConstraints = critical, CA:FALSE
        keyUsage = critical, digitalSignature
        extendedKeyUsage = serverAuth
        subjectAltName = DNS:localhost, IP:127.0.0.1
        [ wildcard_ext ]
        basicConstraints = critical, CA:FALSE
        keyUsage = critical, digitalSignature
        extendedKeyUsage = serverAuth
        subjectAltName = DNS:*.example.test, DNS:mx*.partial.test

        """

    /// Modes: `tls` (an SMTP-ish line server over TLS: a 220 naming the SNI
    /// it saw, then QUIT, DROP, STALL, SEND n, SINK n, or an echo as 250),
    /// and raw TCP servers that misbehave during the handshake: `silent`
    /// (never answers), `hangup` (closes), `reset` (RST), `garbage` (not TLS).
    static let serverPython = #"""
        import socket, ssl, struct, sys, threading, time, warnings

        warnings.simplefilter("ignore")
        mode = sys.argv[1]
        options = dict(arg.split("=", 1) for arg in sys.argv[2:])


        def tls_context():
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(options["cert"], options["key"])
            if "ciphers" in options or options.get("version") == "tls1_1":
                # OpenSSL 3 allows TLS 1.0/1.1 and SHA-1 suites only at security level 0.
                ctx.set_ciphers(options.get("ciphers", "DEFAULT") + ":@SECLEVEL=0")
            version = {"tls1_1": ssl.TLSVersion.TLSv1_1, "tls1_2": ssl.TLSVersion.TLSv1_2}.get(options.get("version"))
            if version is not None:
                ctx.minimum_version = version
                ctx.maximum_version = version

            def remember(sslsocket, name, context):
                sslsocket.sni = name

            ctx.sni_callback = remember
            return ctx


        def pattern(start, n):
            return bytes((start + i) % 251 for i in range(n))


        def read_line(conn):
            line = bytearray()
            while not line.endswith(b"\r\n"):
                byte = conn.recv(1)
                if not byte:
                    return None
                line += byte
            return bytes(line[:-2])


        def serve_tls(raw, ctx):
            try:
                conn = ctx.wrap_socket(raw, server_side=True)
            except (ssl.SSLError, OSError):
                raw.close()
                return
            conn.sendall(b"220 ready sni=%s\r\n" % (getattr(conn, "sni", None) or "-").encode())
            while True:
                try:
                    line = read_line(conn)
                except (ssl.SSLError, OSError):
                    break
                if line is None:
                    break
                words = line.split()
                if line == b"QUIT":
                    conn.sendall(b"221 bye\r\n")
                    try:
                        conn.unwrap()
                    except (ssl.SSLError, OSError):
                        pass
                    break
                elif line == b"DROP":
                    conn.sendall(b"221 dropping\r\n")
                    break
                elif line == b"STALL":
                    time.sleep(3600)
                elif words[:1] == [b"SEND"]:
                    conn.sendall(pattern(0, int(words[1])))
                elif words[:1] == [b"SINK"]:
                    expected, offset, bad = int(words[1]), 0, None
                    while offset < expected:
                        chunk = conn.recv(min(expected - offset, 65536))
                        if not chunk:
                            break
                        if bad is None and chunk != pattern(offset, len(chunk)):
                            bad = offset
                        offset += len(chunk)
                    conn.sendall(b"250 %d %s\r\n" % (offset, b"intact" if bad is None else b"corrupt"))
                else:
                    conn.sendall(b"250 " + line + b"\r\n")
            # Only QUIT sent close_notify; otherwise the TCP connection just ends.
            conn.close()


        def serve_raw(raw):
            raw.recv(65536)
            if mode == "hangup":
                raw.close()
            elif mode == "reset":
                raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                raw.close()
            elif mode == "garbage":
                raw.sendall(b"220 this is not TLS at all\r\n" * 4)
                time.sleep(3600)
            else:
                time.sleep(3600)


        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        ctx = tls_context() if mode == "tls" else None
        print("PORT %d" % listener.getsockname()[1], flush=True)
        while True:
            raw, _ = listener.accept()
            target = (lambda r=raw: serve_tls(r, ctx)) if ctx else (lambda r=raw: serve_raw(r))
            threading.Thread(target=target, daemon=True).start()
        """#
}

/// The fixtures, or a test failure saying why they could not be made.
func relayTLSFixtures(file: StaticString = #filePath, line: UInt = #line) throws -> RelayTLSFixtures {
    switch RelayTLSFixtures.shared {
    case .success(let fixtures): return fixtures
    case .failure(let error):
        XCTFail("cannot make test certificates: \(error)", file: file, line: line)
        throw error
    }
}

/// One run of the Python server on 127.0.0.1, on a port the kernel chose
/// (so no two tests race for one); it is listening once `port` is known.
final class RelayTLSTestServer {
    let process = Process()
    let port: Int
    private let errorLog: String

    init(_ fixtures: RelayTLSFixtures, mode: String, _ options: [String: String] = [:]) throws {
        errorLog = fixtures.directory + "/server-\(UUID().uuidString).log"
        _ = FileManager.default.createFile(atPath: errorLog, contents: nil)
        let output = Pipe()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [fixtures.serverScript, mode] + options.sorted { $0.key < $1.key }.map { "\($0)=\($1)" }
        process.standardOutput = output
        process.standardError = FileHandle(forWritingAtPath: errorLog)
        process.standardInput = FileHandle.nullDevice
        try process.run()
        do {
            port = try Self.readPort(output.fileHandleForReading.fileDescriptor, errorLog: errorLog)
        } catch {
            process.terminate()
            process.waitUntilExit()
            throw error
        }
    }

    /// Waits (at most 10 s) for the "PORT n" line the server prints once it listens.
    private static func readPort(_ fd: Int32, errorLog: String) throws -> Int {
        var text = ""
        let deadline = MonotonicDeadline.after(seconds: 10)
        while !text.contains("\n") {
            var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard let wait = deadline.remainingMilliseconds, poll(&entry, 1, wait) > 0 else {
                throw RelayTLSFixtures.Failure(description: "the test server did not start")
            }
            var chunk = [UInt8](repeating: 0, count: 256)
            let count = read(fd, &chunk, chunk.count)
            guard count > 0 else {
                let log = (try? String(contentsOfFile: errorLog, encoding: .utf8)) ?? ""
                throw RelayTLSFixtures.Failure(description: "the test server exited: \(log)")
            }
            text += String(decoding: chunk[0..<count], as: UTF8.self)
        }
        let words = text.split(whereSeparator: \.isWhitespace)
        guard words.count >= 2, words[0] == "PORT", let port = Int(words[1]) else {
            throw RelayTLSFixtures.Failure(description: "the test server said \(text)")
        }
        return port
    }

    func stop() {
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        try? FileManager.default.removeItem(atPath: errorLog)
    }
}

/// A blocking TCP socket connected to 127.0.0.1:`port`, as the relay's I/O layer would hand it over.
func connectLoopback(_ port: Int) throws -> Int32 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { throw RelayTLSFixtures.Failure(description: "socket: \(errno)") }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = UInt16(port).bigEndian
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let result = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
    }
    guard result == 0 else {
        let code = errno
        close(fd)
        throw RelayTLSFixtures.Failure(description: "connect to port \(port): \(String(cString: strerror(code)))")
    }
    return fd
}

/// Lines and counted bytes read through a session, keeping what a read
/// brought beyond them.
final class TLSLineReader {
    let session: OutboundTLSSession
    private var buffer: [UInt8] = []

    init(_ session: OutboundTLSSession) { self.session = session }

    func line(seconds: Double = 5) throws(OutboundTLSError) -> String {
        let deadline = MonotonicDeadline.after(seconds: seconds)
        while true {
            if let end = buffer.indices.dropFirst().first(where: { buffer[$0 - 1] == 13 && buffer[$0] == 10 }) {
                let line = String(decoding: buffer[..<(end - 1)], as: UTF8.self)
                buffer.removeFirst(end + 1)
                return line
            }
            try session.read(into: &buffer, deadline: deadline)
        }
    }

    func bytes(_ count: Int, seconds: Double = 10) throws(OutboundTLSError) -> [UInt8] {
        let deadline = MonotonicDeadline.after(seconds: seconds)
        while buffer.count < count { try session.read(into: &buffer, deadline: deadline) }
        let result = Array(buffer[..<count])
        buffer.removeFirst(count)
        return result
    }
}

/// The bytes the test server's SEND and SINK use: (start + i) mod 251.
func relayTLSPattern(_ count: Int, from start: Int = 0) -> [UInt8] {
    (0..<count).map { UInt8((start + $0) % 251) }
}

/// The error `body` threw, or nil (also when it threw something else, which then fails any comparison).
func outboundTLSError(_ body: () throws -> Void) -> OutboundTLSError? {
    do {
        try body()
        return nil
    } catch {
        return error as? OutboundTLSError
    }
}
