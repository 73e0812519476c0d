/// A log line's local wall-clock time. Syslog stamps are local time and
/// carry no zone, so times are compared as they are written, field by
/// field, never converted: `--since` and `--until` are read the same way.
public struct LogTime: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var year: Int
    public var month: Int
    public var day: Int
    public var hour: Int
    public var minute: Int
    public var second: Int

    public init(year: Int, month: Int, day: Int, hour: Int = 0, minute: Int = 0, second: Int = 0) {
        self.year = year
        self.month = month
        self.day = day
        self.hour = hour
        self.minute = minute
        self.second = second
    }

    /// One number that orders like the time (not a count of seconds).
    var key: Int64 {
        let date = (Int64(year) * 100 + Int64(month)) * 100 + Int64(day)
        return ((date * 100 + Int64(hour)) * 100 + Int64(minute)) * 100 + Int64(second)
    }

    public static func < (a: LogTime, b: LogTime) -> Bool { a.key < b.key }

    /// `2024-12-08 01:04:37`, the report's and the JSON's form.
    public var description: String {
        "\(pad(year, 4))-\(pad(month))-\(pad(day)) \(pad(hour)):\(pad(minute)):\(pad(second))"
    }

    /// `2024-12-08 01`, the key of messages per hour.
    public var hourKey: String { "\(pad(year, 4))-\(pad(month))-\(pad(day)) \(pad(hour))" }

    /// `YYYY-MM-DD`, `YYYY-MM-DD HH:MM`, `YYYY-MM-DD HH:MM:SS` (or with a
    /// `T`): what `--since` and `--until` take.
    public init?(argument: String) {
        let bytes = Array(argument.utf8)
        func number(_ from: Int, _ count: Int) -> Int? {
            guard from + count <= bytes.count else { return nil }
            var n = 0
            for b in bytes[from..<(from + count)] {
                guard b >= 0x30 && b <= 0x39 else { return nil }
                n = n * 10 + Int(b - 0x30)
            }
            return n
        }
        guard bytes.count == 10 || bytes.count == 16 || bytes.count == 19,
            let y = number(0, 4), bytes[4] == 0x2D, let mo = number(5, 2), bytes[7] == 0x2D, let d = number(8, 2),
            (1...12).contains(mo), (1...31).contains(d)
        else { return nil }
        self.init(year: y, month: mo, day: d)
        guard bytes.count > 10 else { return }
        guard bytes[10] == 0x20 || bytes[10] == 0x54, let h = number(11, 2), bytes[13] == 0x3A,
            let mi = number(14, 2), h < 24, mi < 60
        else { return nil }
        hour = h
        minute = mi
        guard bytes.count == 19 else { return }
        guard bytes[16] == 0x3A, let s = number(17, 2), s < 61 else { return nil }
        second = s
    }
}

func pad(_ n: Int, _ width: Int = 2) -> String {
    let s = String(n)
    return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
}
