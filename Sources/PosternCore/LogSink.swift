import CShims
import Glibc
import Logging

/// Where a process's log lines go. Every process writes its own lines with
/// its own tag and pid (docs/processes.md, "Logs"); a log file is opened once by the
/// master and handed to children as their standard error, opened O_APPEND,
/// so that one write() per line keeps lines whole across processes.
public enum LogSink: Sendable {
    case stream(fd: Int32)
    case syslog(facility: Int32)
}

/// The process-wide log configuration, set once at start-up before any
/// thread exists.
public enum PosternLog {
    nonisolated(unsafe) static var sink: LogSink = .stream(fd: 2)
    nonisolated(unsafe) static var tag = "postern"
    nonisolated(unsafe) static var hostname = "localhost"

    /// Call before chroot: syslog's socket and the time zone must be open first.
    public static func bootstrap(role: Role, sink: LogSink) {
        tzset()
        tag = "postern/\(role.rawValue)"
        self.sink = sink
        var buffer = [CChar](repeating: 0, count: 256)
        if gethostname(&buffer, 255) == 0 {
            hostname = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        if case .syslog(let facility) = sink {
            pst_openlog(tag, facility)
        }
        LoggingSystem.bootstrap { label in PosternLogHandler(label: label) }
    }

    public static var logger: Logger { Logger(label: tag) }

    static func emit(level: Logger.Level, message: String) {
        // Log lines never carry raw control characters from input.
        let clean = sanitize(message)
        switch sink {
        case .syslog:
            pst_syslog(syslogPriority(level), clean)
        case .stream(let fd):
            let line = "\(timestamp()) \(hostname) \(tag)[\(getpid())]: \(clean)\n"
            var bytes = Array(line.utf8)
            if bytes.count > 8192 {
                bytes = Array(bytes.prefix(8191)) + [0x0A]
            }
            bytes.withUnsafeBytes { raw in _ = Glibc.write(fd, raw.baseAddress, raw.count) }
        }
    }

    static func syslogPriority(_ level: Logger.Level) -> Int32 {
        switch level {
        case .trace, .debug: return LOG_DEBUG
        case .info: return LOG_INFO
        case .notice: return LOG_NOTICE
        case .warning: return LOG_WARNING
        case .error: return LOG_ERR
        case .critical: return LOG_CRIT
        }
    }

    /// Escapes control characters so a hostile value cannot forge a log line.
    public static func sanitize(_ s: String) -> String {
        var needs = false
        for b in s.utf8 where b < 0x20 || b == 0x7F { needs = true; break }
        guard needs else { return s }
        var out = ""
        for scalar in s.unicodeScalars {
            if scalar.value < 0x20 || scalar.value == 0x7F {
                out += "\\x" + String(scalar.value, radix: 16, uppercase: true)
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    static func timestamp() -> String {
        var now = time(nil)
        var parts = tm()
        localtime_r(&now, &parts)
        var buffer = [CChar](repeating: 0, count: 64)
        let n = strftime(&buffer, 64, "%b %e %H:%M:%S", &parts)
        return String(decoding: buffer.prefix(n).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// swift-log handler: `QUEUEID: message` when the metadata carries a queue
/// id, so every line about a message names it.
public struct PosternLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    public let label: String

    public init(label: String) { self.label = label }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let level = event.level
        var all = metadata
        if let explicit = event.metadata { all.merge(explicit) { $1 } }
        var text = ""
        if let id = all.removeValue(forKey: "qid") { text = "\(id): " }
        // Postfix's convention (warning:, error:), and critical: for what
        // an administrator must look at first (a child that keeps dying or
        // stopped answering), so it stands out in a log file as in syslog.
        switch level {
        case .warning: text += "warning: "
        case .error: text += "error: "
        case .critical: text += "critical: "
        default: break
        }
        text += event.message.description
        if !all.isEmpty {
            text += ", " + all.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", ")
        }
        PosternLog.emit(level: level, message: text)
    }
}
