import XCTest

@testable import PosternMaster

final class MasterStatusTests: XCTestCase {
    func testTheTableNamesEachChildAndTheDaemon() {
        let status = MasterStatus(
            version: "1.2.3", masterPID: 10, uptime: 4_000, configPath: "/etc/postern/postern.conf",
            configLoaded: "Tue, 08 Dec 2026 01:00:00 +0000", listening: ["127.0.0.1:25"],
            children: [
                .init(
                    role: "queue", pid: 11, user: "postern-queue", root: "/var/spool/postern", uptime: 30, restarts: 2,
                    lastExit: "signal=9", state: "ready"),
                .init(
                    role: "relay", pid: nil, user: "-", root: "-", uptime: nil, restarts: 0, lastExit: "status=1",
                    state: "restarting"),
            ], shuttingDown: false)
        let lines = status.text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        XCTAssertEqual(lines[0], "postern 1.2.3, master pid 10, up 66m")
        XCTAssertEqual(lines[1], "configuration /etc/postern/postern.conf, loaded Tue, 08 Dec 2026 01:00:00 +0000")
        XCTAssertEqual(lines[2], "listening on 127.0.0.1:25")
        XCTAssertEqual(
            lines[5].split(separator: " ").map(String.init),
            ["queue", "11", "postern-queue", "/var/spool/postern", "30s", "2", "signal=9", "ready"])
        XCTAssertEqual(
            lines[6].split(separator: " ").map(String.init),
            ["relay", "-", "-", "-", "-", "0", "status=1", "restarting"])
    }

    func testDurationsStayShort() {
        XCTAssertEqual(MasterStatus.duration(59), "59s")
        XCTAssertEqual(MasterStatus.duration(3_600), "60m")
        XCTAssertEqual(MasterStatus.duration(90_000), "25h0m")
        XCTAssertEqual(MasterStatus.duration(200_000), "2d7h")
    }
}
