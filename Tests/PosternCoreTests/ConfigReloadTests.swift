import XCTest

@testable import PosternCore

/// What a SIGHUP makes of a new file: the warnings and the kept Listen
/// come from the rows marked restart-only.
final class ConfigReloadTests: XCTestCase {
    let running = PosternConfig(sourcePath: "test.conf", myHostname: "mx.example.org")

    func testAnUnchangedFileWarnsOfNothing() {
        let reload = running.reloaded(from: running)
        XCTAssertEqual(reload.restartWarnings, [])
        XCTAssertEqual(reload.config, running)
    }

    func testOrdinaryChangesApplyWithoutAWarning() {
        var fresh = running
        fresh.maxHopCount = 7
        fresh.security.tlsRequestClientCertificate = true
        fresh.relay.tlsPolicy = .verify
        let reload = running.reloaded(from: fresh)
        XCTAssertEqual(reload.restartWarnings, [])
        XCTAssertEqual(reload.config, fresh)
    }

    func testListenChangesWarnAndKeepTheRunningSockets() {
        var fresh = running
        let submission = ListenAddress(host: "127.0.0.1", port: 587, isIPv6: false)
        fresh.listen.append(submission)
        fresh.listenKinds[submission] = .submission
        fresh.maxHopCount = 7
        let reload = running.reloaded(from: fresh)
        XCTAssertEqual(reload.restartWarnings, ["Listen changes take effect at the next restart"])
        XCTAssertEqual(reload.config.listen, running.listen)
        XCTAssertEqual(reload.config.listenKinds, running.listenKinds)
        XCTAssertEqual(reload.config.maxHopCount, 7)
    }

    func testAListenKindChangeAloneWarns() {
        var fresh = running
        fresh.listenKinds[running.listen[0]] = .submission
        let reload = running.reloaded(from: fresh)
        XCTAssertEqual(reload.restartWarnings, ["Listen changes take effect at the next restart"])
        XCTAssertEqual(reload.config.listenKinds, [:])
    }

    func testEachTLSAndSASLChangeWarnsOnceAndIsHandedOn() {
        let changes: [(String, (inout PosternConfig) -> Void)] = [
            ("TLSCertificateFile", { $0.security.tlsCertificateFile = "/etc/postern/cert.pem" }),
            ("TLSKeyFile", { $0.security.tlsKeyFile = "/etc/postern/key.pem" }),
            ("TLSCAFile", { $0.security.tlsCAFile = "/etc/postern/ca.pem" }),
            ("TLSCipherList", { $0.security.tlsCipherList = "HIGH" }),
            ("TLSCipherSuites", { $0.security.tlsCipherSuites = "TLS_AES_128_GCM_SHA256" }),
            ("TLSMinVersion", { $0.security.tlsMinVersion = .tls13 }),
            ("SaslPasswordCheck", { $0.security.saslPasswordCheck = .saslauthd }),
            ("SaslDbFile", { $0.security.saslDbFile = "/etc/postern/other" }),
            ("SaslauthdSocket", { $0.security.saslauthdSocket = "/etc/postern/other" }),
        ]
        let warning = "TLS and SASL file and cipher changes take effect at the next restart"
        for (name, change) in changes {
            var fresh = running
            change(&fresh)
            let reload = running.reloaded(from: fresh)
            XCTAssertEqual(reload.restartWarnings, [warning], name)
            XCTAssertEqual(reload.config, fresh, "\(name) is handed on as before")
        }
        var everything = running
        for (_, change) in changes { change(&everything) }
        everything.listen = [ListenAddress(host: "127.0.0.1", port: 2525, isIPv6: false)]
        XCTAssertEqual(
            running.reloaded(from: everything).restartWarnings,
            ["Listen changes take effect at the next restart", warning], "one line per reason, Listen first")
    }
}
