/// Values for the headers the server adds to a message that lacks them.
/// The state machine has no clock: everything derives from the queue id,
/// the host name and the RFC 5322 date the I/O layer passes to
/// `messageOpened(queueID:date:)`.
enum AddedHeaders {
    /// `<QUEUEID.YYYYMMDDhhmmss@hostname>`: the queue id is unique on this
    /// host, the timestamp keeps it unique should an id ever come back,
    /// and the host name makes it unique everywhere. Without a readable
    /// date the timestamp is left out.
    static func messageID(queueID: String, date: String, hostname: String) -> String {
        let left = String(queueID.unicodeScalars.filter { $0.isASCII && ASCII.isAlphanumeric(UInt8($0.value)) })
        var right = String(
            hostname.unicodeScalars.filter { scalar in
                scalar.isASCII && (ASCII.isAlphanumeric(UInt8(scalar.value)) || scalar == "-" || scalar == ".")
            })
        if right.isEmpty { right = "localhost" }
        if let stamp = timestampDigits(date) { return "<\(left).\(stamp)@\(right)>" }
        return "<\(left)@\(right)>"
    }

    private static let months = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]

    /// "Mon, 23 Nov 2026 11:50:00 +0000" → "20261123115000".
    static func timestampDigits(_ date: String) -> String? {
        var words = date.split(separator: " ").map(String.init)
        if let first = words.first, first.hasSuffix(",") { words.removeFirst() }
        guard words.count >= 4 else { return nil }
        let (day, month, year, time) = (words[0], words[1].lowercased(), words[2], words[3])
        guard (1...2).contains(day.count), day.allSatisfy(\.isASCIIDigit),
            let monthIndex = months.firstIndex(of: month), year.count == 4, year.allSatisfy(\.isASCIIDigit)
        else { return nil }
        let clock = time.split(separator: ":", omittingEmptySubsequences: false)
        guard (2...3).contains(clock.count), clock.allSatisfy({ $0.count == 2 && $0.allSatisfy(\.isASCIIDigit) }) else {
            return nil
        }
        let paddedDay = day.count == 1 ? "0" + day : day
        let paddedMonth = monthIndex < 9 ? "0\(monthIndex + 1)" : "\(monthIndex + 1)"
        return year + paddedMonth + paddedDay + clock.joined() + (clock.count == 2 ? "00" : "")
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}
