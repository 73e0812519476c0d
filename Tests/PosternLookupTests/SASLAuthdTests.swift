import Dispatch
import Foundation
import Logging
import MailVocabulary
import PosternIPC
import XCTest

@testable import PosternLookup

/// `SaslPasswordCheck = saslauthd` against a real saslauthd. Debian's
/// saslauthd reads its sasldb from /etc/sasldb2 only, so it runs in a
/// mount namespace of its own where a test database is bound over that
/// path: the host's /etc/sasldb2 is neither read nor changed. Cyrus hands
/// saslauthd an empty realm, for which saslauthd's sasldb back end uses
/// the machine's host name: the test user is created in that realm.
final class SASLAuthdTests: XCTestCase {
    private static let realm = "test.example"
    private var directory = ""
    private var daemon: Process?

    override func setUpWithError() throws {
        guard getuid() == 0, access("/etc/sasldb2", F_OK) == 0, access("/usr/sbin/saslauthd", X_OK) == 0 else {
            throw XCTSkip("needs root, /usr/sbin/saslauthd and an /etc/sasldb2 to bind over")
        }
        directory = NSTemporaryDirectory() + "postern-saslauthd-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory + "/run", withIntermediateDirectories: true)
        XCTAssertEqual(
            system("printf '%s' 'open sesame' | /usr/sbin/saslpasswd2 -p -f \(directory)/sasldb2 -c alice"), 0)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/unshare")
        process.arguments = [
            "--mount", "--propagation", "private", "/bin/sh", "-c",
            "mount --bind \"$0/sasldb2\" /etc/sasldb2 && exec /usr/sbin/saslauthd -a sasldb -m \"$0/run\" -d -n 0",
            directory,
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        daemon = process
        for _ in 0..<100 where access(directory + "/run/mux", F_OK) != 0 { usleep(50_000) }
        XCTAssertEqual(access(directory + "/run/mux", F_OK), 0, "saslauthd did not start")
    }

    override func tearDownWithError() throws {
        stopDaemon()
        if !directory.isEmpty { try? FileManager.default.removeItem(atPath: directory) }
    }

    private func stopDaemon() {
        guard let daemon, daemon.isRunning else { return }
        kill(daemon.processIdentifier, SIGTERM)
        daemon.waitUntilExit()
    }

    private func makeAuthenticator() throws -> SASLAuthenticator {
        let settings = SASLSettings(
            hostname: Self.realm, mechanisms: ["SCRAM-SHA-256", "CRAM-MD5", "PLAIN", "LOGIN"],
            passwordCheck: .saslauthd, sasldbPath: directory + "/absent", saslauthdPath: directory + "/run/mux")
        let authenticator = try SASLAuthenticator(settings: settings, logger: Logger(label: "test"))
        authenticator.update(settings: settings)
        return authenticator
    }

    private func ask(_ authenticator: SASLAuthenticator, _ message: IPCMessage) -> IPCMessage {
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var answer: IPCMessage = .accepted
        authenticator.queue.async {
            answer = authenticator.answer(message, channel: ObjectIdentifier(self))
            done.signal()
        }
        done.wait()
        return answer
    }

    private func plain(_ authenticator: SASLAuthenticator, user: String, password: String) -> IPCMessage {
        ask(
            authenticator,
            .authStart(
                AuthStart(
                    exchange: 1, mechanism: "PLAIN", initialResponse: Array("\0\(user)\0\(password)".utf8),
                    client: ClientContext(address: "192.0.2.9"), tls: true)))
    }

    func testSaslauthdChecksPlaintextPasswords() throws {
        let authenticator = try makeAuthenticator()
        // saslauthd sees only plaintext passwords: no CRAM-MD5, no SCRAM.
        XCTAssertEqual(ask(authenticator, .authMechanisms), .mechanisms(["PLAIN", "LOGIN"]))
        XCTAssertEqual(plain(authenticator, user: "alice", password: "open sesame"), .authSucceeded(user: "alice"))
        let invalid = IPCMessage.rejected(
            SMTPReply(code: 535, enhanced: "5.7.8", text: "Authentication credentials invalid"))
        XCTAssertEqual(plain(authenticator, user: "alice", password: "open barley"), invalid)
        XCTAssertEqual(plain(authenticator, user: "nobody", password: "open sesame"), invalid)
    }

    func testSaslauthdDownIsTemporaryFailure() throws {
        let authenticator = try makeAuthenticator()
        stopDaemon()
        XCTAssertEqual(
            plain(authenticator, user: "alice", password: "open sesame"),
            .rejected(SMTPReply(code: 454, enhanced: "4.7.0", text: "Temporary authentication failure")))
    }
}
