import COpenSSL
import Foundation
import XCTest

@testable import PosternListener

final class TLSContextTests: XCTestCase {
    private var files: TLSTestFiles!

    override func setUpWithError() throws {
        files = try tlsFiles()
    }

    private func assertRefused(
        _ config: TLSConfiguration, file: StaticString = #filePath, line: UInt = #line,
        _ check: (TLSError) -> Void
    ) {
        do {
            _ = try TLSContext(config)
            XCTFail("accepted \(config)", file: file, line: line)
        } catch {
            check(error)
            XCTAssertFalse(error.description.isEmpty, file: file, line: line)
        }
        XCTAssertEqual(ERR_peek_error(), 0, "the OpenSSL error queue is left empty", file: file, line: line)
    }

    func testLoadsAMatchingCertificateAndKey() throws {
        let context = try TLSContext(TLSConfiguration(certificateChainPath: files.cert, privateKeyPath: files.key))
        XCTAssertEqual(context.configuration.minimumVersion, .tls12)
        XCTAssertEqual(ERR_peek_error(), 0)
    }

    func testRefusesAKeyThatDoesNotMatch() {
        assertRefused(TLSConfiguration(certificateChainPath: files.cert, privateKeyPath: files.otherKey)) { error in
            guard case .keyMismatch(let cert, let key, let message) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(cert, files.cert)
            XCTAssertEqual(key, files.otherKey)
            XCTAssertTrue(message.contains("mismatch"), message)
            XCTAssertTrue(error.description.contains("does not match"), error.description)
        }
    }

    func testRefusesAMissingFile() {
        let missing = files.directory + "/nope.pem"
        assertRefused(TLSConfiguration(certificateChainPath: missing, privateKeyPath: files.key)) {
            XCTAssertEqual($0, .fileUnreadable(path: missing, reason: "No such file or directory"))
            XCTAssertEqual($0.description, "cannot read \(missing): No such file or directory")
        }
        assertRefused(TLSConfiguration(certificateChainPath: files.cert, privateKeyPath: missing)) {
            XCTAssertEqual($0, .fileUnreadable(path: missing, reason: "No such file or directory"))
        }
    }

    func testRefusesADirectory() {
        assertRefused(TLSConfiguration(certificateChainPath: files.directory, privateKeyPath: files.key)) {
            XCTAssertEqual($0, .fileUnreadable(path: files.directory, reason: "not a regular file"))
        }
    }

    func testRefusesAFileThatIsNotPEM() throws {
        let junk = files.directory + "/junk.pem"
        try "not a certificate\n".write(toFile: junk, atomically: true, encoding: .utf8)
        assertRefused(TLSConfiguration(certificateChainPath: junk, privateKeyPath: files.key)) {
            guard case .invalidCertificateChain(junk, _) = $0 else { return XCTFail("\($0)") }
        }
        assertRefused(TLSConfiguration(certificateChainPath: files.cert, privateKeyPath: junk)) {
            guard case .invalidPrivateKey(junk, _) = $0 else { return XCTFail("\($0)") }
        }
    }

    /// A passphrase-protected key is refused at once instead of prompting on a terminal.
    func testRefusesAnEncryptedKeyWithoutPrompting() throws {
        let encrypted = files.directory + "/encrypted.key"
        try TLSTestFiles.openssl(
            ["pkey", "-in", files.key, "-out", encrypted, "-aes256", "-passout", "pass:secret"], in: files.directory)
        assertRefused(TLSConfiguration(certificateChainPath: files.cert, privateKeyPath: encrypted)) {
            guard case .invalidPrivateKey(encrypted, _) = $0 else { return XCTFail("\($0)") }
        }
    }

    func testRefusesCipherListsWithNothingUsable() {
        assertRefused(
            TLSConfiguration(certificateChainPath: files.cert, privateKeyPath: files.key, cipherList: "NO-SUCH-CIPHER")
        ) {
            guard case .invalidCipherList("NO-SUCH-CIPHER", let message) = $0 else { return XCTFail("\($0)") }
            XCTAssertTrue(message.contains("no cipher match"), message)
        }
        assertRefused(
            TLSConfiguration(certificateChainPath: files.cert, privateKeyPath: files.key, cipherSuites: "TLS_NOPE")
        ) {
            guard case .invalidCipherSuites("TLS_NOPE", _) = $0 else { return XCTFail("\($0)") }
        }
    }

    func testRefusesAnUnusableCAFile() throws {
        let junk = files.directory + "/junk-ca.pem"
        try "nothing\n".write(toFile: junk, atomically: true, encoding: .utf8)
        assertRefused(
            TLSConfiguration(
                certificateChainPath: files.cert, privateKeyPath: files.key, requestClientCertificate: true,
                caFilePath: junk)
        ) {
            guard case .invalidCAFile(junk, _) = $0 else { return XCTFail("\($0)") }
        }
    }

    func testDefaults() {
        let config = TLSConfiguration(certificateChainPath: "c", privateKeyPath: "k")
        XCTAssertEqual(config.minimumVersion, .tls12)
        XCTAssertFalse(config.requestClientCertificate)
        XCTAssertTrue(config.cipherSuites.contains("TLS_AES_256_GCM_SHA384"), config.cipherSuites)
        for cipher in config.cipherList.split(separator: ":") {
            XCTAssertTrue(cipher.hasPrefix("ECDHE-"), String(cipher))
            XCTAssertTrue(cipher.contains("GCM") || cipher.contains("CHACHA20"), String(cipher))
        }
    }
}
