import XCTest

@testable import PosternListener

final class ConnectionLimiterTests: XCTestCase {
    func testTotalLimit() {
        var limiter = ConnectionLimiter(maxTotal: 2, maxPerClient: 10, maxRatePerClient: 0)
        XCTAssertEqual(limiter.admit("127.0.0.1", now: 0), .admitted)
        XCTAssertEqual(limiter.admit("127.0.0.2", now: 0), .admitted)
        XCTAssertEqual(limiter.admit("127.0.0.3", now: 0), .tooManyConnections)
        limiter.release("127.0.0.1")
        XCTAssertEqual(limiter.admit("127.0.0.3", now: 0), .admitted)
        XCTAssertEqual(limiter.total, 2)
    }

    func testPerClientLimitLeavesOthersAlone() {
        var limiter = ConnectionLimiter(maxTotal: 100, maxPerClient: 2, maxRatePerClient: 0)
        XCTAssertEqual(limiter.admit("10.0.0.1", now: 0), .admitted)
        XCTAssertEqual(limiter.admit("10.0.0.1", now: 0), .admitted)
        XCTAssertEqual(limiter.admit("10.0.0.1", now: 0), .tooManyFromClient)
        XCTAssertEqual(limiter.admit("10.0.0.2", now: 0), .admitted)
        limiter.release("10.0.0.1")
        XCTAssertEqual(limiter.activeConnections(of: "10.0.0.1"), 1)
        XCTAssertEqual(limiter.admit("10.0.0.1", now: 0), .admitted)
    }

    func testRateLimitSlidesWithTheWindow() {
        var limiter = ConnectionLimiter(maxTotal: 100, maxPerClient: 100, maxRatePerClient: 3)
        for t in [0.0, 1, 2] {
            XCTAssertEqual(limiter.admit("192.0.2.1", now: t), .admitted)
            limiter.release("192.0.2.1")
        }
        XCTAssertEqual(limiter.admit("192.0.2.1", now: 30), .tooFast)
        XCTAssertEqual(limiter.admit("192.0.2.9", now: 30), .admitted)
        XCTAssertEqual(limiter.admit("192.0.2.1", now: 60.5), .admitted)
    }

    func testReleaseOfAnUnknownClientChangesNothing() {
        var limiter = ConnectionLimiter(maxTotal: 1, maxPerClient: 1, maxRatePerClient: 0)
        limiter.release("198.51.100.1")
        XCTAssertEqual(limiter.total, 0)
        XCTAssertEqual(limiter.admit("198.51.100.1", now: 0), .admitted)
    }

    func testAnExemptClientCountsOnlyTowardTheTotal() {
        var limiter = ConnectionLimiter(maxTotal: 5, maxPerClient: 2, maxRatePerClient: 2)
        for _ in 0..<4 { XCTAssertEqual(limiter.admit("127.0.0.1", now: 0, exempt: true), .admitted) }
        XCTAssertEqual(limiter.activeConnections(of: "127.0.0.1"), 0)
        XCTAssertEqual(limiter.admit("10.0.0.1", now: 0), .admitted)
        XCTAssertEqual(limiter.admit("127.0.0.1", now: 0, exempt: true), .tooManyConnections, "the total still holds")
        limiter.release("127.0.0.1", exempt: true)
        XCTAssertEqual(limiter.total, 4)
    }

    func testASessionFoundTrustedStopsCountingForItsClient() {
        var limiter = ConnectionLimiter(maxTotal: 100, maxPerClient: 1, maxRatePerClient: 0)
        XCTAssertEqual(limiter.admit("192.0.2.9", now: 0), .admitted)
        limiter.exempt("192.0.2.9")
        XCTAssertEqual(limiter.admit("192.0.2.9", now: 0), .admitted, "the trusted session no longer fills the slot")
        limiter.release("192.0.2.9", exempt: true)
        limiter.release("192.0.2.9")
        XCTAssertEqual(limiter.total, 0)
        XCTAssertEqual(limiter.activeConnections(of: "192.0.2.9"), 0)
    }
}
