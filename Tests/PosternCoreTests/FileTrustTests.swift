import PosternCore
import XCTest

final class FileTrustTests: XCTestCase {
    func testRootsFileWritableOnlyByRootIsTrusted() {
        for trust in [FileTrust.policy, .program, .jail] {
            XCTAssertEqual(trust.problems(path: "/f", uid: 0, mode: 0o100644), [])
            XCTAssertEqual(trust.problems(path: "/d", uid: 0, mode: 0o040755), [])
        }
        XCTAssertEqual(FileTrust.secret.problems(path: "/k", uid: 0, mode: 0o100640), [])
        XCTAssertEqual(FileTrust.secret.problems(path: "/k", uid: 112, mode: 0o100600), [], "the lookup's own secret")
    }

    func testEachUnsafeOwnerOrModeIsNamed() {
        XCTAssertEqual(
            FileTrust.policy.problems(path: "/etc/postern/access", uid: 0, mode: 0o100666),
            [
                "/etc/postern/access: writable by group or others (mode 0666): whoever can write it decides where mail goes"
            ])
        XCTAssertEqual(
            FileTrust.program.problems(path: "/s/p", uid: 1000, mode: 0o100755),
            ["/s/p: owned by uid 1000, not root: whoever can write it chooses what pipe deliveries run"])
        XCTAssertEqual(
            FileTrust.secret.problems(path: "/sasldb2", uid: 0, mode: 0o100644),
            ["/sasldb2: readable by others (mode 0644): every local user can read the secret"])
        XCTAssertEqual(FileTrust.jail.problems(path: "/j", uid: 0, mode: 0o041777).count, 1)
        XCTAssertEqual(FileTrust.policy.problems(path: "/c", uid: 5, mode: 0o100620).count, 2)
    }
}
