import Foundation

/// `--json`: the report, and a trace's lines, with sorted keys so the
/// output is stable from run to run.
public enum ReportJSON {
    public static func render(_ report: ReviewReport) throws -> String {
        try encode(report)
    }

    /// One object per line: `time`, `host`, `process`, `pid`, `text`.
    public static func render(trace: [LogRecord]) throws -> String {
        try encode(trace.map(TraceLine.init))
    }

    private static func encode<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self) + "\n"
    }
}

struct TraceLine: Encodable {
    var time: String
    var host: String
    var process: String
    var pid: Int
    var text: String

    init(_ r: LogRecord) {
        time = r.time.description
        host = r.host
        process = r.role.rawValue
        pid = r.pid
        text = r.text
    }
}
