import XCTest

@testable import PosternListener

final class AuthFailureTrackerTests: XCTestCase {
    func testCountsGrowPerClientAcrossSessionsAndExpire() {
        var tracker = AuthFailureTracker()
        XCTAssertEqual(tracker.recordFailure("192.0.2.1", now: 0), 1)
        XCTAssertEqual(tracker.recordFailure("192.0.2.1", now: 10), 2)
        XCTAssertEqual(tracker.recordFailure("192.0.2.2", now: 10), 1)
        XCTAssertEqual(tracker.count("192.0.2.1", now: 11), 2)
        // Ten quiet minutes: forgotten.
        XCTAssertEqual(tracker.count("192.0.2.1", now: 700), 0)
        XCTAssertEqual(tracker.recordFailure("192.0.2.1", now: 700), 1)
        tracker.recordSuccess("192.0.2.1")
        XCTAssertEqual(tracker.count("192.0.2.1", now: 701), 0)
    }

    func testMemoryIsBounded() {
        var tracker = AuthFailureTracker()
        tracker.capacity = 100
        for n in 0..<1000 { _ = tracker.recordFailure("10.0.\(n / 256).\(n % 256)", now: Double(n)) }
        var remembered = 0
        for n in 0..<1000 where tracker.count("10.0.\(n / 256).\(n % 256)", now: 1000) > 0 { remembered += 1 }
        XCTAssertLessThanOrEqual(remembered, 101)
        XCTAssertEqual(tracker.count("10.0.3.231", now: 1000), 1, "the newest is kept")
    }
}
