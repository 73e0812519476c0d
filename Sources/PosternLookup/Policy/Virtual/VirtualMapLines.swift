import PosternCore
/// One `key value` line of a Sendmail-style text map, split but not yet
/// interpreted.
struct VirtualMapLine: Equatable, Sendable {
    var number: Int
    var key: Substring
    var value: Substring
}

/// The line-level rules virtusertable and mailertable share with makemap's
/// text input: one entry a line, the key up to the first space or tab and
/// the value after the blanks that follow, `#` comment lines and blank
/// lines skipped. Checked here, once, so that both maps refuse the same
/// garbage: a NUL or control character (which would end a C string early
/// or forge a log line), and lines longer than any real entry.
enum VirtualMapLines {
    /// makemap's own buffer is about this size; a longer line is not a
    /// mistake anyone makes by hand.
    static let maxLineBytes = 4096
    /// Each map is held in memory by every lookup thread; a file bigger
    /// than this is almost surely not what its owner meant to install.
    static let maxEntries = 100_000

    /// The entries of `text` with their line numbers, and a problem for
    /// each line refused here. Both lists are in file order.
    static func read(_ text: String, file: String) -> ([VirtualMapLine], [MapProblem]) {
        var entries: [VirtualMapLine] = []
        var problems: [MapProblem] = []
        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
        for (index, line) in lines.enumerated() {
            let number = index + 1
            let trimmed = line.trimmingMapBlanks
            guard let first = trimmed.first, first != "#" else { continue }
            do throws(VirtualMapError) {
                try check(line)
                let key = trimmed.prefix(while: { $0 != " " && $0 != "\t" })
                let value = trimmed.dropFirst(key.count).trimmingMapBlanks
                guard !value.isEmpty else { throw .missingValue(key: String(key.prefix(256))) }
                entries.append(VirtualMapLine(number: number, key: key, value: value))
            } catch {
                problems.append(MapProblem(file: file, line: number, severity: .error, message: error.description))
            }
        }
        return (entries, problems)
    }

    /// Refuses a line that is too long or holds a NUL or another control
    /// character (C0, DEL or C1; a tab separates fields and a final CR is
    /// a Windows line end, so those two pass).
    private static func check(_ line: Substring) throws(VirtualMapError) {
        let bytes = line.utf8.count
        guard bytes <= maxLineBytes else { throw .lineTooLong(bytes: bytes) }
        let body = line.last == "\r" ? line.dropLast() : line
        for scalar in body.unicodeScalars {
            if scalar.value == 0 { throw .nulCharacter }
            if scalar.value == 0x09 { continue }
            if scalar.value < 0x20 || (0x7f...0x9f).contains(scalar.value) { throw .controlCharacter }
        }
    }

    /// The problem reported once when a map reaches `maxEntries`: the line
    /// that would have been one too many, and everything after it, is
    /// dropped rather than growing the map without bound.
    static func tooManyEntries(file: String, line: Int) -> MapProblem {
        MapProblem(
            file: file, line: line, severity: .error,
            message: "more than \(maxEntries) entries; this line and the rest of the file ignored")
    }

    /// Line problems and entry problems come from two passes; a reader
    /// wants them by line.
    static func inFileOrder(_ problems: [MapProblem]) -> [MapProblem] {
        problems.enumerated().sorted { ($0.element.line, $0.offset) < ($1.element.line, $1.offset) }.map(\.element)
    }
}
