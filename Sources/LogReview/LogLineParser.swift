/// Reads one physical line (without its newline) strictly: a record is
/// only a line that *starts* with a time stamp, a host name and exactly
/// `postern/ROLE[PID]: `, ROLE one of the known roles and PID decimal.
/// Whatever follows is text, whatever it looks like, so a client's HELO
/// name or address that contains `postern/queue[1]: …` stays inside the
/// listener's line it was logged in (the daemon escapes CR and LF, so it
/// cannot start a physical line of its own).
///
/// Two stamp forms: the traditional `Dec  8 01:04:37` (also `Dec 08`),
/// whose year comes from the `YearRule`, and RFC 3339
/// (`2024-12-08T01:04:37.123456+01:00`, rsyslog's high-precision form),
/// whose own local date and time are taken as they stand.
public struct LogLineParser: Sendable {
    public var yearRule: YearRule

    public init(yearRule: YearRule) { self.yearRule = yearRule }

    public func parse(_ line: String) -> ParsedLine {
        var copy = line
        return copy.withUTF8 { parse($0) }
    }

    public func parse(_ line: UnsafeBufferPointer<UInt8>) -> ParsedLine {
        var cursor = ByteCursor(line)
        guard let time = stamp(&cursor), cursor.skip(0x20) else { return .unparsable }
        let hostStart = cursor.index
        while let b = cursor.peek, b != 0x20 { cursor.index += 1 }
        let hostEnd = cursor.index
        guard hostEnd > hostStart, cursor.skip(0x20) else { return .unparsable }
        guard cursor.skip(Self.program) else { return .otherProgram }
        // `postern/`: from here on it claims to be ours and must be exact.
        guard cursor.skip(0x2F) else {
            return cursor.peek == 0x5B || cursor.peek == 0x3A ? .unparsable : .otherProgram
        }
        let roleStart = cursor.index
        while let b = cursor.peek, b != 0x5B, b != 0x20 { cursor.index += 1 }
        guard
            let role = ProcessRole(bytes: UnsafeBufferPointer(rebasing: line[roleStart..<cursor.index])),
            cursor.skip(0x5B), let pid = cursor.decimal(maxDigits: 10), cursor.skip(0x5D), cursor.skip(0x3A),
            cursor.skip(0x20)
        else { return .unparsable }
        let host = String(decoding: UnsafeBufferPointer(rebasing: line[hostStart..<hostEnd]), as: UTF8.self)
        let text = String(decoding: UnsafeBufferPointer(rebasing: line[cursor.index...]), as: UTF8.self)
        return .record(LogRecord(time: time, host: host, role: role, pid: pid, text: text))
    }

    static let program = Array("postern".utf8)
    static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"].map {
        Array($0.utf8)
    }

    private func stamp(_ cursor: inout ByteCursor) -> LogTime? {
        if let b = cursor.peek, b >= 0x30 && b <= 0x39 { return rfc3339(&cursor) }
        guard let month = Self.months.firstIndex(where: { cursor.skip($0) }).map({ $0 + 1 }), cursor.skip(0x20)
        else { return nil }
        _ = cursor.skip(0x20)  // `Dec  8`: a space-padded day
        guard let day = cursor.decimal(maxDigits: 2), (1...31).contains(day), cursor.skip(0x20),
            let clock = clock(&cursor)
        else { return nil }
        return LogTime(
            year: yearRule.year(month: month, day: day), month: month, day: day, hour: clock.0, minute: clock.1,
            second: clock.2)
    }

    private func rfc3339(_ cursor: inout ByteCursor) -> LogTime? {
        guard let year = cursor.fixed(4), cursor.skip(0x2D), let month = cursor.fixed(2), (1...12).contains(month),
            cursor.skip(0x2D), let day = cursor.fixed(2), (1...31).contains(day), cursor.skip(0x54),
            let clock = clock(&cursor)
        else { return nil }
        // Fraction and offset: the local time is what is written.
        while let b = cursor.peek, b != 0x20 { cursor.index += 1 }
        return LogTime(year: year, month: month, day: day, hour: clock.0, minute: clock.1, second: clock.2)
    }

    private func clock(_ cursor: inout ByteCursor) -> (Int, Int, Int)? {
        guard let h = cursor.fixed(2), h < 24, cursor.skip(0x3A), let m = cursor.fixed(2), m < 60, cursor.skip(0x3A),
            let s = cursor.fixed(2), s < 61
        else { return nil }
        return (h, m, s)
    }
}

/// A position in a line's bytes, and the few ways the parser moves it.
struct ByteCursor {
    let bytes: UnsafeBufferPointer<UInt8>
    var index: Int

    init(_ bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
        index = 0
    }

    var peek: UInt8? { index < bytes.count ? bytes[index] : nil }

    mutating func skip(_ byte: UInt8) -> Bool {
        guard peek == byte else { return false }
        index += 1
        return true
    }

    mutating func skip(_ literal: [UInt8]) -> Bool {
        guard bytes.count - index >= literal.count else { return false }
        for (i, b) in literal.enumerated() where bytes[index + i] != b { return false }
        index += literal.count
        return true
    }

    /// One to `maxDigits` decimal digits.
    mutating func decimal(maxDigits: Int) -> Int? {
        var n = 0
        var count = 0
        while let b = peek, b >= 0x30 && b <= 0x39, count < maxDigits {
            n = n * 10 + Int(b - 0x30)
            count += 1
            index += 1
        }
        guard count > 0, !(peek.map { $0 >= 0x30 && $0 <= 0x39 } ?? false) else { return nil }
        return n
    }

    /// Exactly `count` decimal digits.
    mutating func fixed(_ count: Int) -> Int? {
        guard bytes.count - index >= count else { return nil }
        var n = 0
        for i in 0..<count {
            let b = bytes[index + i]
            guard b >= 0x30 && b <= 0x39 else { return nil }
            n = n * 10 + Int(b - 0x30)
        }
        index += count
        return n
    }
}
