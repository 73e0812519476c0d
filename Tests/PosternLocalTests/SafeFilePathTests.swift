import XCTest

@testable import PosternLocal

#if canImport(Glibc)
    import Glibc
#endif

/// Turning an alias's file target into a path inside the SafeFileEnvironment.
final class SafeFilePathTests: XCTestCase {
    private let jail = "/var/mailjail"

    private func components(_ target: String, jail: String? = nil) throws -> [String] {
        try SafeFilePath(target: target, jail: jail ?? self.jail).components
    }

    private func isInvalid(_ target: String, jail: String? = nil) -> Bool {
        do {
            _ = try SafeFilePath(target: target, jail: jail ?? self.jail)
            return false
        } catch {
            guard case .invalidPath = error else { return false }
            return error.isPermanent && error.enhancedStatus == "5.1.3"
        }
    }

    func testJailPrefixIsStripped() throws {
        XCTAssertEqual(try components("/var/mailjail/archive/list"), ["archive", "list"])
        XCTAssertEqual(try components("/archive/list"), ["archive", "list"])
        XCTAssertEqual(try components("/var/mailjail/archive/list", jail: "/var/mailjail/"), ["archive", "list"])
        XCTAssertEqual(try components("/var/mailjail/archive/list", jail: "//var/./mailjail"), ["archive", "list"])
        XCTAssertEqual(try SafeFilePath(target: "/var/mailjail/a/b", jail: jail).description, "/a/b")
    }

    func testPrefixIsComparedByComponent() throws {
        XCTAssertEqual(try components("/var/mailjailbreak/x"), ["var", "mailjailbreak", "x"])
        XCTAssertEqual(try components("/var/mail/x"), ["var", "mail", "x"])
    }

    func testJailOfRootStripsNothing() throws {
        XCTAssertEqual(try components("/var/mailjail/archive", jail: "/"), ["var", "mailjail", "archive"])
    }

    func testEmptyAndDotComponentsAreDropped() throws {
        XCTAssertEqual(try components("//archive/./list"), ["archive", "list"])
        XCTAssertEqual(try components("/archive/list/"), ["archive", "list"])
    }

    func testEscapesAreRefused() {
        XCTAssertTrue(isInvalid("../x"))
        XCTAssertTrue(isInvalid("archive/list"))
        XCTAssertTrue(isInvalid("/../etc/x"))
        XCTAssertTrue(isInvalid("/var/mailjail/../etc/passwd"))
        XCTAssertTrue(isInvalid("/archive/.."))
        XCTAssertTrue(isInvalid("/x", jail: "/var/../mailjail"))
        XCTAssertTrue(isInvalid("/x", jail: "mailjail"))
    }

    func testNothingLeftIsRefused() {
        XCTAssertTrue(isInvalid(""))
        XCTAssertTrue(isInvalid("/"))
        XCTAssertTrue(isInvalid("/var/mailjail"))
        XCTAssertTrue(isInvalid("/var/mailjail/./"))
    }

    func testControlCharactersAndOverlongNamesAreRefused() {
        XCTAssertTrue(isInvalid("/archive/li\nst"))
        XCTAssertTrue(isInvalid("/archive/list\u{0}"))
        XCTAssertTrue(isInvalid("/archive/\u{7F}"))
        XCTAssertTrue(isInvalid("/" + String(repeating: "a", count: 256)))
        XCTAssertFalse(isInvalid("/" + String(repeating: "a", count: 255)))
    }

    func testDevNull() {
        XCTAssertTrue(SafeFilePath.isDevNull("/dev/null"))
        XCTAssertFalse(SafeFilePath.isDevNull("/dev/null2"))
        XCTAssertFalse(SafeFilePath.isDevNull("/var/mailjail/dev/null"))
        XCTAssertFalse(SafeFilePath.isDevNull("dev/null"))
    }

    func testErrorClassification() {
        XCTAssertTrue(SafeFileError.refused(reason: "x").isPermanent)
        XCTAssertEqual(SafeFileError.refused(reason: "x").enhancedStatus, "5.7.1")
        XCTAssertFalse(SafeFileError.lockTimeout.isPermanent)
        XCTAssertFalse(SafeFileError.io(operation: "write", errno: ENOSPC).isPermanent)
        XCTAssertEqual(SafeFileError.io(operation: "write", errno: ENOSPC).enhancedStatus, "4.3.1")
        XCTAssertEqual(SafeFileError.io(operation: "write", errno: EIO).enhancedStatus, "4.3.0")
        XCTAssertEqual(SafeFileError(.unsafeMailbox(reason: "r")), .refused(reason: "r"))
        XCTAssertEqual(SafeFileError(.lockTimeout), .lockTimeout)
    }
}
