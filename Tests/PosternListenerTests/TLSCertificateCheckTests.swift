import Foundation
import XCTest

@testable import PosternListener

final class TLSCertificateCheckTests: XCTestCase {
    private var files: TLSTestFiles!
    private var now: time_t = 0

    override func setUpWithError() throws {
        files = try tlsFiles()
        now = time(nil)  // after the certificates were made
    }

    func testAGoodCertificateHasNoProblems() {
        XCTAssertEqual(TLSCertificateCheck.check(chain: files.cert, key: files.key, now: now), [])
    }

    func testExpiredCertificate() {
        let problems = TLSCertificateCheck.check(chain: files.expiredCert, key: files.leafKey, now: now)
        XCTAssertEqual(
            problems, ["error: certificate 1 (CN=mail.example) expired on 2000-01-01 00:00:00 UTC"])
    }

    func testNotYetValidCertificate() {
        let problems = TLSCertificateCheck.check(chain: files.futureCert, key: files.leafKey, now: now)
        XCTAssertEqual(
            problems, ["error: certificate 1 (CN=mail.example) is not valid before 2099-12-31 00:00:00 UTC"])
    }

    func testExpiringSoonIsAWarning() {
        let problems = TLSCertificateCheck.problems(chain: files.soonCert, key: files.leafKey, now: now)
        XCTAssertEqual(problems.count, 1)
        XCTAssertEqual(problems.first?.severity, .warning)
        let message = problems.first?.message ?? ""
        XCTAssertTrue(message.hasPrefix("certificate 1 (CN=mail.example) expires on "), message)
        XCTAssertTrue(message.hasSuffix("(in 9 days)") || message.hasSuffix("(in 10 days)"), message)
    }

    /// The time is the caller's: the same certificate, a year and a half later.
    func testTheTimeIsAParameter() {
        let problems = TLSCertificateCheck.check(chain: files.cert, key: files.key, now: now + 550 * 86400)
        XCTAssertEqual(problems.count, 1)
        XCTAssertTrue(
            problems.first?.hasPrefix("error: certificate 1 (CN=localhost) expired on ") ?? false, "\(problems)")
    }

    func testKeyThatDoesNotMatch() {
        let problems = TLSCertificateCheck.check(chain: files.cert, key: files.otherKey, now: now)
        XCTAssertEqual(problems.count, 1)
        XCTAssertTrue(
            problems.first?.hasPrefix("error: private key \(files.otherKey) does not match certificate CN=localhost")
                ?? false, "\(problems)")
    }

    func testUnreadableFiles() {
        let missing = files.directory + "/missing.pem"
        XCTAssertEqual(
            TLSCertificateCheck.check(chain: missing, key: missing, now: now),
            [
                "error: certificate chain: cannot read \(missing): No such file or directory",
                "error: private key: cannot read \(missing): No such file or directory",
            ])
    }

    func testChainOrder() throws {
        let good = files.directory + "/chain-good.pem"
        let reversed = files.directory + "/chain-reversed.pem"
        let leaf = try String(contentsOfFile: files.soonCert, encoding: .utf8)
        let ca = try String(contentsOfFile: files.caCert, encoding: .utf8)
        try (leaf + ca).write(toFile: good, atomically: true, encoding: .utf8)
        try (ca + leaf).write(toFile: reversed, atomically: true, encoding: .utf8)
        let goodProblems = TLSCertificateCheck.problems(chain: good, key: files.leafKey, now: now)
        XCTAssertEqual(goodProblems.filter { $0.severity == .error }, [])
        let problems = TLSCertificateCheck.check(chain: reversed, key: files.leafKey, now: now)
        XCTAssertTrue(problems.contains { $0.contains("chain out of order") }, "\(problems)")
        XCTAssertTrue(problems.contains { $0.contains("does not match certificate CN=Postern Test CA") }, "\(problems)")
    }
}
