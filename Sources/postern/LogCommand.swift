import ArgumentParser
import Glibc
import LogReview
import PosternCore

/// `postern log [FILE…]`: the per-process log review (README, "Logs").
/// The reading is here; what a line means and the counting are in
/// LogReview.
struct LogReviewCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "log",
        abstract: "Review Postern's logs: counts per process, rejections, deliveries, or one message's lines.",
        discussion: """
            Reads syslog files, a LogFile, rotated and .gz files, or standard input (- or no FILE). \
            Lines of other programs are skipped. Syslog stamps have no year: a stamp is taken to be in \
            the year of the file's modification time (now, for standard input), or the year before when \
            its month and day come more than a day after that. Files are read oldest first (by mtime).
            """)

    @Argument(help: "Log files (plain or gzip); - or none for standard input.")
    var files: [String] = []

    @Option(help: "Follow one message: a queue id, a Message-ID (<…>) or an address.")
    var trace: String?

    @Option(name: .customLong("process"), help: "Count only these roles (repeatable or comma-separated).")
    var processes: [String] = []

    @Option(help: "Only lines at or after this local time (YYYY-MM-DD[ HH:MM[:SS]]).")
    var since: String?

    @Option(help: "Only lines at or before this local time (YYYY-MM-DD[ HH:MM[:SS]]).")
    var until: String?

    @Option(help: "How many rows each top list shows.")
    var top = 10

    @Flag(help: "JSON with the field names README documents.")
    var json = false

    func run() throws {
        let filter = try makeFilter()
        let inputs = try orderedInputs()
        defer { inputs.forEach { $0.close() } }
        if let trace {
            try runTrace(trace, inputs, filter)
            return
        }
        var aggregator = ReviewAggregator(filter: filter, topCount: max(top, 0))
        for input in inputs {
            let parser = LogLineParser(yearRule: YearRule(reference: input.modified))
            try input.lines { aggregator.add(parser.parse($0)) }
        }
        let report = aggregator.result()
        print(json ? try ReportJSON.render(report) : ReportText.render(report), terminator: "")
    }

    /// Standard input is read once: for a trace's two passes it is kept in
    /// an unlinked temporary file first.
    private func runTrace(_ target: String, _ inputs: [LogInput], _ filter: ReviewFilter) throws {
        var sources = inputs
        if let i = sources.firstIndex(where: { $0.fd == 0 }) { sources[i] = try spool(sources[i]) }
        var trace = MessageTrace(target)
        for pass in 0..<2 {
            for input in sources {
                if pass == 1 { _ = lseek(input.fd, 0, SEEK_SET) }
                let parser = LogLineParser(yearRule: YearRule(reference: input.modified))
                try input.lines {
                    guard case .record(let record) = parser.parse($0), filter.admits(record) else { return }
                    let c = ClassifiedRecord(record)
                    if pass == 0 { trace.learn(c) } else { trace.collect(c) }
                }
            }
        }
        defer { sources.filter { $0.fd != 0 }.forEach { $0.close() } }
        let lines = trace.ordered
        if json {
            print(try ReportJSON.render(trace: lines), terminator: "")
        } else {
            for r in lines { print("\(r.time) \(r.host) postern/\(r.role.rawValue)[\(r.pid)]: \(r.text)") }
        }
        if lines.isEmpty { throw ExitCode(1) }
    }

    private func spool(_ input: LogInput) throws -> LogInput {
        var template = Array("/tmp/postern-log-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw LogInputError.open(path: "a temporary file", errno: errno) }
        template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
        let buffer = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: LogInput.chunkSize)
        defer { buffer.deallocate() }
        while true {
            let n = read(input.fd, buffer.baseAddress, buffer.count)
            if n < 0 && errno == EINTR { continue }
            if n < 0 { throw LogInputError.read(path: input.path, errno: errno) }
            if n == 0 { break }
            var done = 0
            while done < n {
                let w = write(fd, buffer.baseAddress! + done, n - done)
                if w < 0 && errno == EINTR { continue }
                if w < 0 { throw LogInputError.read(path: "a temporary file", errno: errno) }
                done += w
            }
        }
        return LogInput(path: input.path, fd: fd, modified: input.modified)
    }

    private func makeFilter() throws -> ReviewFilter {
        var filter = ReviewFilter()
        let names = processes.flatMap { $0.split(separator: ",").map(String.init) }
        if !names.isEmpty {
            var roles = Set<ProcessRole>()
            for name in names {
                guard let role = ProcessRole(rawValue: name) else {
                    let known = ProcessRole.allCases.map(\.rawValue).joined(separator: ", ")
                    throw ValidationError("unknown process \(name); one of \(known)")
                }
                roles.insert(role)
            }
            filter.roles = roles
        }
        if let since {
            guard let t = LogTime(argument: since) else {
                throw ValidationError("--since: not YYYY-MM-DD[ HH:MM[:SS]]")
            }
            filter.since = t
        }
        if let until {
            guard var t = LogTime(argument: until) else {
                throw ValidationError("--until: not YYYY-MM-DD[ HH:MM[:SS]]")
            }
            // A bare date means the whole day.
            if until.utf8.count == 10 { (t.hour, t.minute, t.second) = (23, 59, 59) }
            filter.until = t
        }
        return filter
    }

    /// Oldest first, so that rotated files come before the current one.
    private func orderedInputs() throws -> [LogInput] {
        let paths = files.isEmpty ? ["-"] : files
        do {
            let inputs = try paths.map(LogInput.open)
            return inputs.enumerated().sorted {
                $0.element.modified != $1.element.modified
                    ? $0.element.modified < $1.element.modified : $0.offset < $1.offset
            }.map(\.element)
        } catch let error as LogInputError {
            StandardError.write("postern log: \(error)\n")
            throw ExitCode(2)
        }
    }
}
