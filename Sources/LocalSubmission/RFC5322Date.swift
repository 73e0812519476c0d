/// RFC 5322 §3.3 date-time, computed without Foundation or the C library
/// (whose time zone state the daemon's chroot would not have).
enum RFC5322Date {
    static let weekdays = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// `Tue, 8 Dec 2026 00:52:11 +0000`, local to the offset.
    /// The times a four-digit year can show: 0001-01-01 to 9999-12-31.
    /// A time outside is clamped, so no input (a drop file's `time`, say)
    /// can overflow the arithmetic.
    static let representable: ClosedRange<Int64> = -62_135_596_800...253_402_300_799

    static func format(secondsSince1970: Int64, utcOffsetSeconds: Int) -> String {
        let offsetMinutes = max(-(99 * 60 + 59), min(99 * 60 + 59, utcOffsetSeconds / 60))
        let local = secondsSince1970.clamped(to: representable) + Int64(offsetMinutes * 60)
        let civil = Civil(secondsSince1970: local.clamped(to: representable))
        let sign = offsetMinutes < 0 ? "-" : "+"
        let zone =
            sign + OriginatorFields.twoDigits(abs(offsetMinutes) / 60)
            + OriginatorFields.twoDigits(abs(offsetMinutes) % 60)
        let time = [civil.hour, civil.minute, civil.second].map(OriginatorFields.twoDigits).joined(separator: ":")
        return "\(weekdays[civil.weekday]), \(civil.day) \(months[civil.month - 1]) \(civil.paddedYear) \(time) \(zone)"
    }

    /// A calendar date and time of day (proleptic Gregorian), after Howard
    /// Hinnant's days-from-civil algorithm.
    struct Civil {
        var year: Int
        /// 1 to 12.
        var month: Int
        var day: Int
        var hour: Int
        var minute: Int
        var second: Int
        /// 0 for Sunday.
        var weekday: Int

        /// RFC 5322's `4*DIGIT`.
        var paddedYear: String { String(repeating: "0", count: max(0, 4 - String(year).count)) + String(year) }

        init(secondsSince1970: Int64) {
            let seconds = Int(secondsSince1970.clamped(to: RFC5322Date.representable))
            var days = seconds / 86_400
            var secondOfDay = seconds % 86_400
            if secondOfDay < 0 {
                secondOfDay += 86_400
                days -= 1
            }
            hour = secondOfDay / 3_600
            minute = secondOfDay % 3_600 / 60
            second = secondOfDay % 60
            weekday = ((days + 4) % 7 + 7) % 7
            let shifted = days + 719_468
            let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
            let dayOfEra = shifted - era * 146_097
            let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
            let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
            let monthIndex = (5 * dayOfYear + 2) / 153
            day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
            month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
            year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        }
    }
}

extension Comparable {
    func clamped(to range: ClosedRange<Self>) -> Self { Swift.min(Swift.max(self, range.lowerBound), range.upperBound) }
}
