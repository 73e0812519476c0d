import XCTest

@testable import PosternCore

/// Listener kinds, TLS and AUTH options (issue 4).
final class ConfigSecurityTests: XCTestCase {
    func testDefaultsOfferNoTLSAndAuthOnlyUnderTLS() throws {
        let config = try XCTUnwrap(parsedConfig(""))
        XCTAssertFalse(config.security.tlsEnabled)
        XCTAssertFalse(config.security.authAllowCleartext)
        XCTAssertFalse(config.security.authCanBeOffered)
        XCTAssertEqual(config.security.authMechanisms, ["SCRAM-SHA-256", "CRAM-MD5", "PLAIN", "LOGIN"])
        XCTAssertEqual(config.security.saslDbFile, "/etc/postern/sasldb2")
        XCTAssertEqual(config.kind(of: config.listen[0]), .smtp)
    }

    func testListenKindsParseAndRenderRoundTrip() throws {
        let text = """
            Listen = 127.0.0.1:25
            Listen = 127.0.0.1:587 submission
            Listen = [::1]:465 smtps
            TLSCertificateFile = /etc/postern/cert.pem
            TLSKeyFile = /etc/postern/key.pem
            AuthMechanisms = plain, LOGIN
            AuthAllowCleartext = yes
            SenderLoginMap = /etc/postern/sender-logins
            """
        let config = try XCTUnwrap(parsedConfig(text))
        XCTAssertEqual(config.listen.map { config.kind(of: $0) }, [.smtp, .submission, .submissions])
        XCTAssertEqual(config.security.authMechanisms, ["PLAIN", "LOGIN"])
        XCTAssertTrue(config.security.authAllowCleartext)
        XCTAssertTrue(config.security.authCanBeOffered)
        XCTAssertEqual(config.security.senderLoginMap, "/etc/postern/sender-logins")
        let again = try XCTUnwrap(parsedConfig(config.render()))
        XCTAssertEqual(again.listenKinds, config.listenKinds)
        XCTAssertEqual(again.security, config.security)
        XCTAssertTrue(config.render().contains("Listen = [::1]:465 submissions\n"))
    }

    func testSecurityMistakesAreErrorsWithTheirLine() {
        XCTAssertEqual(
            configErrors("Listen = 127.0.0.1:25 lmtp"),
            ["test.conf:1: Listen: \"lmtp\" is not a listener kind (smtp, submission, submissions)"])
        XCTAssertEqual(
            configErrors("TLSCertificateFile = /etc/postern/cert.pem"),
            ["test.conf:1: TLSCertificateFile and TLSKeyFile go together: set both, or neither"])
        XCTAssertEqual(
            configErrors("Listen = 127.0.0.1:465 submissions"),
            ["test.conf:1: Listen: 127.0.0.1:465 is a submissions (TLS) listener, but no TLSCertificateFile is set"])
        XCTAssertEqual(
            configErrors("SaslDbFile = /var/lib/sasldb2"),
            [
                "test.conf:1: SaslDbFile: /var/lib/sasldb2 is not inside ConfigDirectory /etc/postern "
                    + "(the lookup process sees nothing else)"
            ])
        XCTAssertEqual(
            configErrors("TLSMinVersion = 1.1"),
            ["test.conf:1: TLSMinVersion: \"1.1\" is neither 1.2 nor 1.3 (older TLS is not offered)"])
        XCTAssertEqual(
            configErrors("AuthMechanisms = PLAIN LOG;IN"),
            ["test.conf:1: AuthMechanisms: \"LOG;IN\" is not a SASL mechanism name"])
        XCTAssertEqual(
            configErrors("AuthAllowCleartext = maybe"),
            ["test.conf:1: AuthAllowCleartext: \"maybe\" is neither yes nor no"])
    }

    func testSaslFilesFollowTheConfigDirectory() throws {
        let config = try XCTUnwrap(parsedConfig("ConfigDirectory = /srv/postern"))
        XCTAssertEqual(config.security.saslDbFile, "/srv/postern/sasldb2")
        XCTAssertEqual(config.security.saslauthdSocket, "/srv/postern/saslauthd/mux")
    }
}
