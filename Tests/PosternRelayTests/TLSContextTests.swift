import Foundation
import XCTest

@testable import PosternRelay

/// The context's CA bundle handling and cipher list, and the pure parts of
/// the session: peer names, log text, deadlines.
final class TLSContextTests: XCTestCase {
    func testTrustedBundleLoads() throws {
        let fixtures = try relayTLSFixtures()
        let context = try OutboundTLSContext(caBundlePath: fixtures.caCert)
        XCTAssertTrue(context.canVerify)
        XCTAssertNil(context.trustStoreProblem)
        XCTAssertEqual(context.caBundlePath, fixtures.caCert)
    }

    func testSystemBundleIsTheDefault() throws {
        let context = try OutboundTLSContext()
        XCTAssertEqual(context.caBundlePath, "/etc/ssl/certs/ca-certificates.crt")
        XCTAssertEqual(context.canVerify, FileManager.default.fileExists(atPath: context.caBundlePath))
    }

    func testUnusableBundlesMakeVerificationImpossibleNotTheContext() throws {
        let fixtures = try relayTLSFixtures()
        let cases = [
            (fixtures.directory + "/missing.pem", "cannot read \(fixtures.directory)/missing.pem: No such file"),
            (fixtures.directory, "cannot read \(fixtures.directory): not a regular file"),
            (fixtures.garbageBundle, "no usable CA certificates in \(fixtures.garbageBundle): "),
        ]
        for (path, problem) in cases {
            let context = try OutboundTLSContext(caBundlePath: path)
            XCTAssertFalse(context.canVerify, path)
            XCTAssertTrue(
                context.trustStoreProblem?.hasPrefix(problem) == true, String(describing: context.trustStoreProblem))
        }
    }

    func testUnknownCipherListIsRefused() {
        XCTAssertThrowsError(try OutboundTLSContext(cipherList: "NO-SUCH-CIPHER")) { error in
            guard case .invalidCipherList(let list, let openssl) = error as? OutboundTLSError else {
                return XCTFail("\(error)")
            }
            XCTAssertEqual(list, "NO-SUCH-CIPHER")
            XCTAssertFalse(openssl.isEmpty)
        }
    }

    func testPeerNamesAreNormalised() throws {
        let cases: [(String, String, OutboundTLSPeerName.Kind)] = [
            ("MX.Example.COM.", "mx.example.com", .dnsName),
            ("mail_relay.example.com", "mail_relay.example.com", .dnsName),
            ("192.0.2.1", "192.0.2.1", .ipAddress),
            // A trailing dot does not turn an address into a name to send as SNI.
            ("192.0.2.1.", "192.0.2.1", .ipAddress),
            ("[192.0.2.1]", "192.0.2.1", .ipAddress),
            ("2001:DB8::1", "2001:db8::1", .ipAddress),
            ("[IPv6:2001:db8::1]", "2001:db8::1", .ipAddress),
        ]
        for (text, value, kind) in cases {
            let name = try OutboundTLSPeerName(text)
            XCTAssertEqual(name.value, value, text)
            XCTAssertEqual(name.kind, kind, text)
        }
    }

    func testMalformedPeerNamesAreRefused() {
        let longLabel = String(repeating: "a", count: 64) + ".example"
        let longName = Array(repeating: "abcdefghi", count: 26).joined(separator: ".")
        for text in [
            "", ".", "a..b", ".example", "mx example", "mx\u{0}.example", "mx/.example", "[mx.example]",
            "[192.0.2.1", "[IPv6:192.0.2]", "mx.exämple.com", longLabel, longName,
        ] {
            XCTAssertThrowsError(try OutboundTLSPeerName(text), text) { error in
                XCTAssertEqual(error as? OutboundTLSError, .invalidPeerName(text))
            }
        }
        XCTAssertNoThrow(try OutboundTLSPeerName(String(repeating: "a", count: 63) + ".example"))
    }

    func testDescriptionForTheLog() {
        var info = OutboundTLSInfo(
            version: "TLSv1.2", cipher: "ECDHE-RSA-AES256-GCM-SHA384", bits: 256, algorithmBits: 256,
            peerCommonName: "mx.example.com", verified: true, verificationError: nil)
        XCTAssertEqual(
            info.description,
            "TLSv1.2 with cipher ECDHE-RSA-AES256-GCM-SHA384 (256/256 bits), peer CN=mx.example.com, verified=yes")
        info.verified = false
        info.verificationError = "self-signed certificate"
        info.peerCommonName = nil
        XCTAssertTrue(info.description.hasSuffix(", peer CN=(none), verified=no (self-signed certificate)"))
    }

    func testCommonNamesAreMadeSafeForOneLogLine() {
        XCTAssertEqual(OutboundTLSInfo.loggable("mx\r\nfake: line\u{0}\u{85}é"), "mx??fake: line??é")
        XCTAssertEqual(
            OutboundTLSInfo.loggable(String(repeating: "x", count: 1000)).count, OutboundTLSInfo.maximumCommonNameLength
        )
    }

    func testDeadlines() {
        XCTAssertNil(MonotonicDeadline.after(seconds: -1).remainingMilliseconds)
        XCTAssertTrue(MonotonicDeadline.after(seconds: -1).hasPassed)
        XCTAssertFalse(MonotonicDeadline.after(seconds: 10).hasPassed)
        // Rounded up: a wait never ends before the deadline.
        XCTAssertEqual(MonotonicDeadline.after(seconds: 0.0001).remainingMilliseconds, 1)
        let remaining = MonotonicDeadline.after(seconds: 2).remainingMilliseconds ?? 0
        XCTAssertTrue((1990...2000).contains(remaining), "\(remaining)")
        XCTAssertEqual(MonotonicDeadline.after(seconds: 1e12).remainingMilliseconds, Int32.max)
        let far = MonotonicDeadline.after(seconds: 60)
        XCTAssertLessThan(far.capped(atSecondsFromNow: 1), far)
        let near = MonotonicDeadline.after(seconds: 0.5)
        XCTAssertEqual(near.capped(atSecondsFromNow: 1), near)
    }
}
