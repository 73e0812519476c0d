import Dispatch
import Foundation
import XCTest

@testable import PosternLocal

#if canImport(Glibc)
    import Glibc
#endif

/// Dotlock and fcntl lock behaviour: waiting, timing out, stale locks, and
/// never removing or following a lock that is not ours.
final class MboxLockTests: XCTestCase {
    private var scratch: MboxScratch!

    override func setUpWithError() throws {
        scratch = try MboxScratch()
    }

    override func tearDown() {
        scratch?.remove()
        scratch = nil
    }

    private let shortWait = MboxDelivery.Options(lockTimeout: .milliseconds(400), lockRetryInterval: .milliseconds(50))

    func testStaleDotlockIsRemoved() throws {
        let box = scratch.path("alice")
        let lock = box + ".lock"
        try mboxWrite(lock, Array("99999\n".utf8), mode: 0o600)
        try setMtime(lock, secondsAgo: 600)
        _ = try scratch.deliver(to: box, message: "x\r\n", options: shortWait)
        XCTAssertFalse(mboxExists(lock))
        XCTAssertTrue(String(decoding: try mboxRead(box), as: UTF8.self).hasSuffix("\nx\n\n"))
    }

    func testFreshDotlockOfAnotherWriterTimesOutAndIsKept() throws {
        let box = scratch.path("alice")
        let lock = box + ".lock"
        // A live process holds it (this one stands in for that writer).
        let holder = Array("\(getpid())\n".utf8)
        try mboxWrite(lock, holder, mode: 0o600)
        try setMtime(lock, secondsAgo: 60)
        let started = MboxSystem.monotonicNanoseconds()
        let error = scratch.deliveryError(to: box, message: "x\r\n", options: shortWait)
        let elapsed = MboxSystem.monotonicNanoseconds() - started
        XCTAssertEqual(error, .lockTimeout)
        XCTAssertGreaterThanOrEqual(elapsed, 350_000_000)
        XCTAssertLessThan(elapsed, 3_000_000_000)
        XCTAssertEqual(try mboxRead(lock), holder, "another writer's lock must stay")
        XCTAssertFalse(mboxExists(box), "nothing may be created without the lock")
    }

    func testHeldFcntlLockTimesOut() throws {
        let box = scratch.path("alice")
        let original = Array("From x Thu Jan  1 00:00:00 1970\nold\n\n".utf8)
        try mboxWrite(box, original, mode: 0o600)
        let holder = try holdRecordLock(box)
        defer { close(holder) }
        let started = MboxSystem.monotonicNanoseconds()
        let error = scratch.deliveryError(to: box, message: "x\r\n", options: shortWait)
        let elapsed = MboxSystem.monotonicNanoseconds() - started
        XCTAssertEqual(error, .lockTimeout)
        XCTAssertGreaterThanOrEqual(elapsed, 350_000_000, "must have waited for the lock")
        XCTAssertLessThan(elapsed, 3_000_000_000)
        XCTAssertEqual(try mboxRead(box), original)
        XCTAssertFalse(mboxExists(box + ".lock"), "our dotlock must be removed on timeout")
    }

    func testWaitsForFcntlLockThenDelivers() throws {
        let box = scratch.path("alice")
        try mboxWrite(box, [], mode: 0o600)
        let holder = try holdRecordLock(box)
        let sawDotlock = MboxBox(false)
        let released = DispatchSemaphore(value: 0)
        DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(300)) {
            // While we hold the fcntl lock the writer must already hold the
            // dotlock: it takes the dotlock first.
            sawDotlock.value = mboxExists(box + ".lock")
            close(holder)
            released.signal()
        }
        let started = MboxSystem.monotonicNanoseconds()
        let written = try scratch.deliver(
            to: box, message: "waited\r\n",
            options: .init(lockTimeout: .seconds(5), lockRetryInterval: .milliseconds(20)))
        let elapsed = MboxSystem.monotonicNanoseconds() - started
        XCTAssertEqual(released.wait(timeout: .now() + 5), .success)
        XCTAssertGreaterThanOrEqual(elapsed, 250_000_000)
        XCTAssertTrue(sawDotlock.value)
        XCTAssertEqual(written, try mboxRead(box).count)
        XCTAssertFalse(mboxExists(box + ".lock"))
    }

    func testDotlockSymlinkIsNeverFollowed() throws {
        let box = scratch.path("alice")
        let victim = scratch.path("victim")
        let original = Array("precious\n".utf8)
        try mboxWrite(victim, original, mode: 0o644)
        let lock = box + ".lock"
        XCTAssertEqual(symlink(victim, lock), 0)

        // A fresh symlink is just somebody's lock: wait, time out, touch nothing.
        XCTAssertEqual(scratch.deliveryError(to: box, message: "x\r\n", options: shortWait), .lockTimeout)
        XCTAssertEqual(try mboxRead(victim), original)

        // A stale one is removed as a link; its target survives unchanged.
        try setMtime(lock, secondsAgo: 600)
        _ = try scratch.deliver(to: box, message: "x\r\n", options: shortWait)
        XCTAssertFalse(mboxExists(lock))
        XCTAssertEqual(try mboxRead(victim), original)
    }

    func testStaleAgeIsConfigurable() throws {
        let box = scratch.path("alice")
        let lock = box + ".lock"
        try mboxWrite(lock, [], mode: 0o600)
        try setMtime(lock, secondsAgo: 30)
        var options = shortWait
        options.staleDotlockAfterSeconds = 10
        _ = try scratch.deliver(to: box, message: "x\r\n", options: options)
        XCTAssertFalse(mboxExists(lock))
    }

    func testReleaseLeavesALockThatIsNoLongerOurs() throws {
        let lock = scratch.path("alice.lock")
        let deadline = MboxSystem.Deadline(after: .seconds(1))
        let ours = try XCTUnwrap(
            MboxDotLock.acquire(
                path: lock, deadline: deadline, retryInterval: .milliseconds(10), staleAfterSeconds: 300))
        XCTAssertTrue(mboxExists(lock))
        // Another writer judged ours stale, removed it and took its own.
        XCTAssertEqual(unlink(lock), 0)
        try mboxWrite(lock, Array("other\n".utf8), mode: 0o600)
        ours.release()
        XCTAssertEqual(try mboxRead(lock), Array("other\n".utf8))

        // Whereas our own lock is removed.
        XCTAssertEqual(unlink(lock), 0)
        let again = try XCTUnwrap(
            MboxDotLock.acquire(
                path: lock, deadline: deadline, retryInterval: .milliseconds(10), staleAfterSeconds: 300))
        again.release()
        XCTAssertFalse(mboxExists(lock))
    }

    // MARK: helpers

    /// Takes an open-file-description lock on `path`. OFD locks conflict
    /// with classic fcntl locks even inside one process, which is what lets
    /// this test process play "another mail reader".
    private func holdRecordLock(_ path: String) throws -> Int32 {
        let fd = open(path, O_RDWR | O_CLOEXEC)
        guard fd >= 0 else { throw MboxTestFailure("open \(path): errno \(errno)") }
        var lock = flock()
        lock.l_type = Int16(F_WRLCK)
        lock.l_whence = Int16(SEEK_SET)
        let F_OFD_SETLK: Int32 = 37
        guard fcntl(fd, F_OFD_SETLK, &lock) == 0 else {
            close(fd)
            throw MboxTestFailure("F_OFD_SETLK: errno \(errno)")
        }
        return fd
    }

    private func setMtime(_ path: String, secondsAgo: Int) throws {
        let when = timespec(tv_sec: time(nil) - secondsAgo, tv_nsec: 0)
        var times = [when, when]
        guard utimensat(AT_FDCWD, path, &times, AT_SYMLINK_NOFOLLOW) == 0 else {
            throw MboxTestFailure("utimensat \(path): errno \(errno)")
        }
    }
}
