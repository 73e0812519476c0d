import CSASL
import Dispatch
import Glibc
import Logging
import MailVocabulary
import PosternIPC
import XCTest

@testable import PosternLookup

/// The lookup's SASL server against a real sasldb (made by saslpasswd2)
/// and a real Cyrus SASL client: nothing here is simulated.
final class SASLServerTests: XCTestCase {
    static let realm = "test.example"
    static let mechanisms = ["SCRAM-SHA-256", "CRAM-MD5", "PLAIN", "LOGIN"]
    private static var directory = ""
    private var exchange: UInt64 = 0

    override class func setUp() {
        super.setUp()
        var template = Array("/tmp/postern-sasl-XXXXXX".utf8CString)
        directory = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
        createUser("alice", password: "correct horse")
        createUser("bob", password: "battery staple")
    }

    override class func tearDown() {
        _ = unlink(directory + "/sasldb2")
        _ = rmdir(directory)
        super.tearDown()
    }

    /// `saslpasswd2 -p -f DB -u REALM -c USER`, the password on stdin, as
    /// an administrator would run it.
    private static func createUser(_ user: String, password: String) {
        let command =
            "printf '%s' '\(password)' | /usr/sbin/saslpasswd2 -p -f \(directory)/sasldb2 -u \(realm) -c \(user)"
        XCTAssertEqual(system(command), 0, "saslpasswd2 failed")
    }

    private func settings(
        mechanisms: [String] = SASLServerTests.mechanisms + ["ANONYMOUS", "EXTERNAL"],
        database: String = SASLServerTests.directory + "/sasldb2"
    ) -> SASLSettings {
        SASLSettings(
            hostname: Self.realm, mechanisms: mechanisms, passwordCheck: .auxprop, sasldbPath: database,
            saslauthdPath: Self.directory + "/mux")
    }

    private func makeAuthenticator(
        capacity: Int = 1024, clock: @escaping () -> Double = SASLAuthenticator.monotonicNow
    ) throws -> SASLAuthenticator {
        let authenticator = try SASLAuthenticator(
            settings: settings(), logger: Logger(label: "test"), capacity: capacity, clock: clock)
        // A test before may have pointed the process-wide settings elsewhere.
        authenticator.update(settings: settings())
        return authenticator
    }

    /// Runs one request on the authenticator's queue, as LookupState does.
    private func ask(
        _ authenticator: SASLAuthenticator, _ message: IPCMessage, channel: ObjectIdentifier? = nil
    ) -> IPCMessage {
        let key = channel ?? ObjectIdentifier(self)
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var answer: IPCMessage = .accepted
        authenticator.queue.async {
            answer = authenticator.answer(message, channel: key)
            done.signal()
        }
        done.wait()
        return answer
    }

    /// A whole exchange: the Cyrus client talks to the server until the
    /// server gives a final answer.
    private func authenticate(
        _ authenticator: SASLAuthenticator, mechanism: String, user: String, password: String
    ) throws -> IPCMessage {
        exchange += 1
        let client = try SASLTestClient(user: user, password: password, hostname: Self.realm)
        let initial = try client.start(mechanism)
        var answer = ask(
            authenticator,
            .authStart(
                AuthStart(
                    exchange: exchange, mechanism: mechanism, initialResponse: initial,
                    client: ClientContext(address: "192.0.2.7"), tls: true)))
        var steps = 0
        while case .authChallenge(let challenge) = answer, steps < 10 {
            steps += 1
            let response = try client.step(challenge)
            answer = ask(authenticator, .authStep(exchange: exchange, response: response))
        }
        return answer
    }

    func testAdvertisesConfiguredMechanismsCyrusHasNeverAnonymousOrExternal() throws {
        let authenticator = try makeAuthenticator()
        XCTAssertEqual(ask(authenticator, .authMechanisms), .mechanisms(Self.mechanisms))
    }

    func testRightPasswordSucceedsWithTheUserName() throws {
        let authenticator = try makeAuthenticator()
        for mechanism in Self.mechanisms {
            XCTAssertEqual(
                try authenticate(authenticator, mechanism: mechanism, user: "alice", password: "correct horse"),
                .authSucceeded(user: "alice"), mechanism)
            XCTAssertEqual(
                try authenticate(authenticator, mechanism: mechanism, user: "bob", password: "battery staple"),
                .authSucceeded(user: "bob"), mechanism)
        }
        XCTAssertEqual(authenticator.liveExchanges, 0)
    }

    func testLoginQualifiedWithTheRealmSucceeds() throws {
        let authenticator = try makeAuthenticator()
        for mechanism in ["PLAIN", "SCRAM-SHA-256"] {
            XCTAssertEqual(
                try authenticate(
                    authenticator, mechanism: mechanism, user: "alice@\(Self.realm)", password: "correct horse"),
                .authSucceeded(user: "alice@\(Self.realm)"), mechanism)
        }
    }

    func testWrongPasswordAndUnknownUserFailIdentically() throws {
        let authenticator = try makeAuthenticator()
        let invalid = IPCMessage.rejected(
            SMTPReply(code: 535, enhanced: "5.7.8", text: "Authentication credentials invalid"))
        for mechanism in Self.mechanisms {
            XCTAssertEqual(
                try authenticate(authenticator, mechanism: mechanism, user: "alice", password: "battery staple"),
                invalid, mechanism)
            XCTAssertEqual(
                try authenticate(authenticator, mechanism: mechanism, user: "mallory", password: "correct horse"),
                invalid, mechanism)
            XCTAssertEqual(
                try authenticate(authenticator, mechanism: mechanism, user: "alice", password: ""), invalid,
                mechanism)
        }
        XCTAssertEqual(authenticator.liveExchanges, 0)
    }

    func testMechanismNotOfferedIs504() throws {
        let authenticator = try makeAuthenticator()
        for mechanism in ["ANONYMOUS", "EXTERNAL", "DIGEST-MD5", "GSSAPI", "NOSUCH"] {
            let answer = ask(
                authenticator,
                .authStart(
                    AuthStart(
                        exchange: 9, mechanism: mechanism, initialResponse: Array("x".utf8),
                        client: ClientContext(address: "192.0.2.7"), tls: true)))
            XCTAssertEqual(
                answer,
                .rejected(SMTPReply(code: 504, enhanced: "5.5.4", text: "Unrecognized authentication type")),
                mechanism)
        }
    }

    func testUndecodablePlainResponseIs501() throws {
        let authenticator = try makeAuthenticator()
        // PLAIN without its NUL separators cannot be decoded.
        let answer = ask(
            authenticator,
            .authStart(
                AuthStart(
                    exchange: 3, mechanism: "PLAIN", initialResponse: Array("alice".utf8),
                    client: ClientContext(address: "192.0.2.7"), tls: true)))
        guard case .rejected(let status) = answer else { return XCTFail("\(answer)") }
        XCTAssertEqual(status.code, 501)
    }

    func testUnreadableDatabaseIsTemporaryFailure() throws {
        let authenticator = try makeAuthenticator()
        authenticator.update(settings: settings(database: Self.directory + "/missing"))
        defer { authenticator.update(settings: settings()) }
        XCTAssertEqual(
            try authenticate(authenticator, mechanism: "PLAIN", user: "alice", password: "correct horse"),
            .rejected(SMTPReply(code: 454, enhanced: "4.7.0", text: "Temporary authentication failure")))
    }

    func testAbortDisposesTheExchange() throws {
        let authenticator = try makeAuthenticator()
        let start = IPCMessage.authStart(
            AuthStart(
                exchange: 77, mechanism: "CRAM-MD5", initialResponse: nil,
                client: ClientContext(address: "192.0.2.7"), tls: true))
        guard case .authChallenge(let challenge) = ask(authenticator, start) else { return XCTFail("no challenge") }
        XCTAssertTrue(String(decoding: challenge, as: UTF8.self).hasSuffix("@\(Self.realm)>"))
        XCTAssertEqual(authenticator.liveExchanges, 1)
        XCTAssertEqual(ask(authenticator, .authAbort(exchange: 77)), .accepted)
        XCTAssertEqual(authenticator.liveExchanges, 0)
        guard case .rejected(let status) = ask(authenticator, .authStep(exchange: 77, response: Array("x".utf8)))
        else { return XCTFail("a step after abort must be refused") }
        XCTAssertEqual(status.code, 501)
    }

    func testCRAMChallengesDiffer() throws {
        let authenticator = try makeAuthenticator()
        var challenges: Set<[UInt8]> = []
        for id in 1...20 {
            let start = IPCMessage.authStart(
                AuthStart(
                    exchange: UInt64(id), mechanism: "CRAM-MD5", initialResponse: nil,
                    client: ClientContext(address: "192.0.2.7"), tls: true))
            guard case .authChallenge(let challenge) = ask(authenticator, start) else { return XCTFail() }
            challenges.insert(challenge)
        }
        XCTAssertEqual(challenges.count, 20)
    }

    func testTableIsBoundedAndOldestGoFirst() throws {
        let clock = TestClock()
        let authenticator = try makeAuthenticator(capacity: 3, clock: { clock.now })
        for id in 1...5 {
            clock.now += 1
            let start = IPCMessage.authStart(
                AuthStart(
                    exchange: UInt64(id), mechanism: "LOGIN", initialResponse: nil,
                    client: ClientContext(address: "192.0.2.7"), tls: true))
            guard case .authChallenge = ask(authenticator, start) else { return XCTFail("no challenge") }
        }
        XCTAssertEqual(authenticator.liveExchanges, 3)
        for id in [1, 2] {
            guard case .rejected(let status) = ask(authenticator, .authStep(exchange: UInt64(id), response: []))
            else { return XCTFail("exchange \(id) should have been dropped") }
            XCTAssertEqual(status.code, 501)
        }
        // Exchange 5 is still there: LOGIN asks for the password next.
        guard case .authChallenge = ask(authenticator, .authStep(exchange: 5, response: Array("alice".utf8))) else {
            return XCTFail("exchange 5 should be live")
        }
    }

    func testIdleExchangesExpire() throws {
        let clock = TestClock()
        let authenticator = try makeAuthenticator(clock: { clock.now })
        let start = IPCMessage.authStart(
            AuthStart(
                exchange: 1, mechanism: "LOGIN", initialResponse: nil, client: ClientContext(address: "192.0.2.7"),
                tls: true))
        guard case .authChallenge = ask(authenticator, start) else { return XCTFail("no challenge") }
        clock.now += 601
        guard case .rejected(let status) = ask(authenticator, .authStep(exchange: 1, response: Array("alice".utf8)))
        else { return XCTFail("an idle exchange must expire") }
        XCTAssertEqual(status.code, 501)
        XCTAssertEqual(authenticator.liveExchanges, 0)
    }

    func testExchangesAreKeyedPerChannel() throws {
        let authenticator = try makeAuthenticator()
        let other = NSObject()
        let start = IPCMessage.authStart(
            AuthStart(
                exchange: 1, mechanism: "LOGIN", initialResponse: nil, client: ClientContext(address: "192.0.2.7"),
                tls: true))
        guard case .authChallenge = ask(authenticator, start) else { return XCTFail("no challenge") }
        guard
            case .rejected = ask(authenticator, .authStep(exchange: 1, response: []), channel: ObjectIdentifier(other))
        else { return XCTFail("another channel must not reach this exchange") }
        XCTAssertEqual(authenticator.liveExchanges, 1)
    }
}

final class TestClock: @unchecked Sendable {
    var now: Double = 1000
}

extension SASLServerTests {
    /// Cyrus would seed each connection's pool from /dev/urandom, which the
    /// lookup's root lacks; every loaded mechanism must be wrapped so that
    /// its pool is seeded from getrandom instead (CSASLShims/sasl_seeding.c).
    func testEveryMechanismIsSeededFromGetrandom() throws {
        _ = try makeAuthenticator()
        for mechanism in Self.mechanisms + ["DIGEST-MD5"] {
            XCTAssertTrue(SASLLibrary.shared.isSeeded(mechanism), mechanism)
        }
        XCTAssertFalse(SASLLibrary.shared.isSeeded("NOSUCH"))
    }
}
