import Glibc
import NIOConcurrencyHelpers
import PosternCore
import PosternIPC
import SMTPProtocol
import XCTest

@testable import PosternRelay

/// The per-destination slow start, cap, reuse and rate limit, without
/// sockets: the runner only records which work it was given.
final class DestinationSchedulerTests: XCTestCase {
    final class Started: @unchecked Sendable {
        private let lock = NIOLock()
        private var works: [RelayWork] = []
        func add(_ work: RelayWork) { lock.withLock { works.append(work) } }
        var count: Int { lock.withLock { works.count } }
    }

    private func scheduler(concurrency: Int = 20, rate: Int = 0) -> (DestinationScheduler, Started) {
        var config = PosternConfig(sourcePath: "test", myHostname: "mail.example.test")
        config.relay.destinationConcurrency = concurrency
        config.relay.destinationRate = rate
        config.relay.connectionCacheTime = 0
        let started = Started()
        return (DestinationScheduler(config: config) { work, _ in started.add(work) }, started)
    }

    private func work(_ n: Int, destination: String = "example.test") -> RelayWork {
        let message = OutboundMessage(
            queueID: QueueID.generate(), sender: "s@x.test", recipients: [OutboundRecipient(address: "r\(n)@x.test")],
            size: 10)
        return RelayWork(
            message: message, jobIndices: [0], messageFD: open("/dev/null", O_RDONLY),
            route: RouteAnswer(outcome: .hosts),
            destination: destination, completion: { _ in })
    }

    func testTwoConnectionsFirstThenOneMorePerDeliveredMessage() {
        let (s, started) = scheduler()
        for n in 0..<10 { s.submit(work(n)) }
        XCTAssertEqual(started.count, 2)
        for _ in 0..<3 { s.delivered("example.test") }
        XCTAssertEqual(started.count, 5)
    }

    func testAnUnreachableDestinationHalvesTheLimit() {
        let (s, started) = scheduler()
        for n in 0..<10 { s.submit(work(n)) }
        for _ in 0..<6 { s.delivered("example.test") }
        XCTAssertEqual(started.count, 8)
        for _ in 0..<7 { s.runnerEnded("example.test", unreachable: true) }
        // The limit fell to 1 and one runner is still active: no new start
        // while the destination cannot be reached...
        XCTAssertEqual(started.count, 8)
        // ...until it ends: one connection keeps trying.
        s.runnerEnded("example.test", unreachable: true)
        XCTAssertEqual(started.count, 9)
    }

    func testTheCapHolds() {
        let (s, started) = scheduler(concurrency: 3)
        for n in 0..<20 { s.submit(work(n)) }
        for _ in 0..<100 { s.delivered("example.test") }
        XCTAssertEqual(started.count, 3)
    }

    func testAFreeSessionTakesTheNextMessageOfItsDestinationOnly() {
        let (s, started) = scheduler(concurrency: 1)
        s.submit(work(0))
        s.submit(work(1))
        s.submit(work(2, destination: "other.test"))
        XCTAssertEqual(started.count, 2, "one per destination")
        XCTAssertEqual(s.nextWork(for: "example.test")?.message.recipients.first?.address, "r1@x.test")
        XCTAssertNil(s.nextWork(for: "example.test"))
    }

    func testTheRateLimitCountsMessageStartsPerMinute() {
        let (s, started) = scheduler(rate: 3)
        for n in 0..<10 { s.submit(work(n)) }
        XCTAssertEqual(started.count, 2)
        XCTAssertNotNil(s.nextWork(for: "example.test"), "the third start in this minute")
        XCTAssertNil(s.nextWork(for: "example.test"), "a fourth must wait")
        for _ in 0..<5 { s.delivered("example.test") }
        XCTAssertEqual(started.count, 2)
    }
}

extension DestinationSchedulerTests {
    func testAWaitingSessionWakesWhenWorkArrives() {
        var config = PosternConfig(sourcePath: "test", myHostname: "mail.example.test")
        config.relay.connectionCacheTime = 5
        let started = Started()
        let s = DestinationScheduler(config: config) { work, _ in started.add(work) }
        s.submit(work(0))
        XCTAssertEqual(started.count, 1)
        let got = expectation(description: "the waiting session gets the message")
        OSThread.start {
            if s.nextWork(for: "example.test") != nil { got.fulfill() }
        }
        usleep(200_000)
        s.submit(work(1))
        wait(for: [got], timeout: 2)
        XCTAssertEqual(started.count, 1, "the idle connection took it; no new one")
    }
}

extension DestinationSchedulerTests {
    func testConnectionsAcrossDestinationsAreCapped() {
        let config = PosternConfig(sourcePath: "test", myHostname: "mail.example.test")
        let started = Started()
        let s = DestinationScheduler(config: config, maxConnections: 3) { work, _ in started.add(work) }
        s.submit(work(0, destination: "a.test"))
        s.submit(work(1, destination: "a.test"))
        s.submit(work(2, destination: "b.test"))
        s.submit(work(3, destination: "b.test"))
        XCTAssertEqual(started.count, 3, "two for a.test, one for b.test, then the cap")
        s.runnerEnded("a.test", unreachable: false)
        XCTAssertEqual(started.count, 4, "the freed slot goes to b.test's waiting message")
    }
}
