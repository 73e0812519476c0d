import LocalSubmission
import XCTest

@testable import PosternSubmit

final class DropScanPlanTests: XCTestCase {
    private func name(_ uid: UInt32, _ fill: UInt8) -> String {
        DropFileName(uid: uid, random: [UInt8](repeating: fill, count: 16))?.description ?? ""
    }

    private func entry(
        _ name: String, uid: UInt32, size: Int64 = 100, modified: Int64 = 1_000, regular: Bool = true,
        ready: Bool = true
    ) -> DropDirectory.Entry {
        DropDirectory.Entry(name: name, uid: uid, size: size, modified: modified, regular: regular, ready: ready)
    }

    func testReadyFilesArePickedUpOldestFirst() {
        let a = name(1000, 1)
        let b = name(1001, 2)
        let plan = DropScanPlan.make(
            [entry(b, uid: 1001, modified: 2_000), entry(a, uid: 1000, modified: 1_000)], now: 3_000,
            perUserLimit: 1 << 20, abandonedAfter: 86_400)
        XCTAssertEqual(plan.pickUp, [a, b])
        XCTAssertTrue(plan.remove.isEmpty)
    }

    func testForeignNamesAndOwnerMismatchesAreRemoved() {
        let mine = name(1000, 3)
        let plan = DropScanPlan.make(
            [entry("junk", uid: 1000), entry(mine, uid: 1001)], now: 3_000, perUserLimit: 1 << 20,
            abandonedAfter: 86_400)
        XCTAssertEqual(Set(plan.remove.map(\.name)), ["junk", mine])
        XCTAssertTrue(plan.pickUp.isEmpty)
    }

    func testLinksAndOtherNonRegularFilesAreRemovedAtOnce() {
        let link = name(1000, 9)
        let plan = DropScanPlan.make(
            [entry(link, uid: 1000, regular: false, ready: false)], now: 10, perUserLimit: 1 << 20,
            abandonedAfter: 86_400)
        XCTAssertEqual(plan.remove.map(\.name), [link])
    }

    func testHalfWrittenFilesWaitThenGo() {
        let young = name(1000, 4)
        let old = name(1000, 5)
        let plan = DropScanPlan.make(
            [
                entry(young, uid: 1000, modified: 90_000, ready: false),
                entry(old, uid: 1000, modified: 0, ready: false),
            ],
            now: 100_000, perUserLimit: 1 << 20, abandonedAfter: 86_400)
        XCTAssertEqual(plan.remove.map(\.name), [old])
        XCTAssertTrue(plan.pickUp.isEmpty)
    }

    func testOneUserBeyondTheBoundLosesOnlyItsNewestFiles() {
        let first = name(1000, 6)
        let second = name(1000, 7)
        let other = name(1001, 8)
        let plan = DropScanPlan.make(
            [
                entry(first, uid: 1000, size: 600, modified: 1), entry(second, uid: 1000, size: 600, modified: 2),
                entry(other, uid: 1001, size: 600, modified: 3),
            ], now: 10, perUserLimit: 1_000, abandonedAfter: 86_400)
        XCTAssertEqual(plan.pickUp, [first, other])
        XCTAssertEqual(plan.remove.map(\.name), [second])
    }
}
