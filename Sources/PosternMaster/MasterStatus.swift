/// `postern status`, rendered from what the master knows and what /proc
/// says of each child (a pure function of those values, tested by itself).
struct MasterStatus: Equatable {
    struct Child: Equatable {
        var role: String
        var pid: Int32?
        /// From /proc/PID/status and /proc/PID/root: what the kernel says,
        /// not what the manifest meant.
        var user: String
        var root: String
        var uptime: Int?
        var restarts: Int
        var lastExit: String?
        var state: String
    }

    var version: String
    var masterPID: Int32
    var uptime: Int
    var configPath: String
    var configLoaded: String
    var listening: [String]
    var children: [Child]
    var shuttingDown: Bool

    var text: String {
        var lines = [
            "postern \(version), master pid \(masterPID), up \(Self.duration(uptime))\(shuttingDown ? ", shutting down" : "")",
            "configuration \(configPath), loaded \(configLoaded)",
            "listening on \(listening.isEmpty ? "nothing" : listening.joined(separator: " "))",
            "",
            Self.row(["ROLE", "PID", "USER", "ROOT", "UP", "RESTARTS", "LAST EXIT", "STATE"]),
        ]
        for child in children {
            lines.append(
                Self.row([
                    child.role, child.pid.map(String.init) ?? "-", child.user, child.root,
                    child.uptime.map(Self.duration) ?? "-", "\(child.restarts)", child.lastExit ?? "-", child.state,
                ]))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private static func row(_ cells: [String]) -> String {
        let widths = [8, 8, 16, 34, 10, 9, 12]
        var out = ""
        for (i, cell) in cells.enumerated() {
            out += i < widths.count ? cell.padding(widths[i]) : cell
        }
        return out
    }

    static func duration(_ seconds: Int) -> String {
        if seconds < 120 { return "\(seconds)s" }
        if seconds < 7_200 { return "\(seconds / 60)m" }
        if seconds < 172_800 { return "\(seconds / 3_600)h\(seconds % 3_600 / 60)m" }
        return "\(seconds / 86_400)d\(seconds % 86_400 / 3_600)h"
    }
}

extension String {
    fileprivate func padding(_ width: Int) -> String {
        count >= width ? self + " " : self + String(repeating: " ", count: width - count)
    }
}
