import CShims
import Glibc
import PosternCore
import PosternIPC
import XCTest

@testable import PosternMaster

/// The restart backoff and the watchdog, without a daemon: a record's
/// delays, and a master that pings a child over a real socketpair and
/// kills one (a real process) that does not answer.
final class SupervisionTests: XCTestCase {
    func testTheRestartDelayDoublesWhileAChildKeepsDyingAndResetsAfterAMinute() {
        let record = ChildRecord(role: .queue)
        record.startedAt = 1000
        let delays = (0..<12).map { _ in record.restartDelay(now: 1001) }
        XCTAssertEqual(delays[0], 0.1, accuracy: 1e-9)
        XCTAssertEqual(delays[1], 0.2, accuracy: 1e-9)
        XCTAssertEqual(delays[4], 1.6, accuracy: 1e-9)
        XCTAssertEqual(delays[10], 60, "capped at a minute")
        XCTAssertEqual(delays[11], 60)
        XCTAssertEqual(record.quickDeaths, 12)
        // A child that ran more than a minute starts over.
        XCTAssertEqual(record.restartDelay(now: 1061), 0.1, accuracy: 1e-9)
        XCTAssertEqual(record.quickDeaths, 1)
    }

    private func socketPair() throws -> (Int32, Int32) {
        var fds: [Int32] = [-1, -1]
        guard pst_socketpair_seqpacket(&fds) == 0 else { throw IPCError.closed }
        return (fds[0], fds[1])
    }

    /// A process to kill: `sleep 60`, reaped by the test.
    private func sleeper() throws -> pid_t {
        var pid: pid_t = 0
        var argv: [UnsafeMutablePointer<CChar>?] = [strdup("/bin/sleep"), strdup("60"), nil]
        defer { argv.forEach { free($0) } }
        guard posix_spawn(&pid, "/bin/sleep", nil, nil, &argv, nil) == 0 else { throw IPCError.closed }
        return pid
    }

    func testTheWatchdogPingsAReadyChildAndKillsOneThatDoesNotAnswer() throws {
        var config = PosternConfig(sourcePath: "t.conf", myHostname: "mx.example.org")
        config.watchdogTimeout = 8
        let master = Master(configPath: "t.conf", config: config, debug: true, roles: [])
        let (mine, theirs) = try socketPair()
        defer { close(theirs) }
        let child = IPCChannel(fd: theirs, peer: .master, local: .relay)
        let pid = try sleeper()
        defer {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
        let record = ChildRecord(role: .relay)
        record.state = .running(pid: pid, channel: IPCChannel(fd: mine, peer: .relay, local: .master))
        master.children[.relay] = record

        // Not ready yet: no ping.
        master.checkHealth(now: 100)
        XCTAssertNil(record.health.outstandingSince)
        record.health.ready = true
        master.checkHealth(now: 100)
        XCTAssertEqual(record.health.outstandingSince, 100)
        XCTAssertEqual(try child.receive()?.message, .ping(1))

        // Answered: the next ping waits for the interval (watchdog / 4).
        master.healthAnswered(1, by: record)
        master.checkHealth(now: 101)
        XCTAssertNil(record.health.outstandingSince)
        master.checkHealth(now: 102)
        XCTAssertEqual(try child.receive()?.message, .ping(2))
        // An old answer changes nothing; silence past the timeout kills.
        master.healthAnswered(1, by: record)
        master.checkHealth(now: 109)
        XCTAssertFalse(record.health.killed)
        master.checkHealth(now: 110.5)
        XCTAssertTrue(record.health.killed)
        var status: Int32 = 0
        XCTAssertEqual(waitpid(pid, &status, 0), pid)
        XCTAssertEqual(status & 0x7F, SIGKILL)
    }
}
