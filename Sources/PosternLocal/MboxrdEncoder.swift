#if canImport(Glibc)
    import Glibc
#endif

/// Turns the spooled message (CRLF line ends, as received) into mboxrd text,
/// one chunk at a time.
///
/// The mailbox format separates messages with lines that start `From `, so a
/// body line starting that way would split the message in two for every
/// reader. mboxrd quotes every line matching `^>*From ` with one more `>`,
/// which a reader can undo exactly (unlike mboxo, which loses `>From `).
///
/// The encoder keeps only the state a line needs across a chunk boundary —
/// whether we are at the start of a line, how much of `From ` has been seen,
/// and a CR that may be the first half of a CRLF — so a message of any size is
/// converted with memory bounded by the chunk size.
struct MboxrdEncoder {
    private static let cr: UInt8 = 0x0D
    private static let lf: UInt8 = 0x0A
    private static let gt: UInt8 = 0x3E
    private static let fromPrefix: [UInt8] = Array("From ".utf8)

    /// True while the current output line holds nothing but `>` characters,
    /// i.e. while a `From ` could still make it a line that needs quoting.
    private var atLineStart = true
    /// How many bytes of `From ` have been seen (and held back) on this line.
    /// Held back because the extra `>` must go before them if the match
    /// completes. The leading `>` run is never held: one more `>` in front of
    /// it is the same bytes as one more after it, so it can stream through.
    private var matched = 0
    /// A CR seen at the end of the input so far; emitted only once we know it
    /// is not half of a CRLF.
    private var pendingCR = false
    /// The last byte emitted, to know whether the message ended with a line
    /// end. Starts as LF because the From_ line and header lines precede it.
    private var lastEmitted: UInt8 = MboxrdEncoder.lf

    init() {}

    /// Encodes `input`, appending to `out`. Output grows by at most
    /// `input.count + 6` bytes per call, which keeps the writer's buffer
    /// bounded.
    mutating func encode(_ input: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) {
        let before = out.count
        out.reserveCapacity(out.count + input.count + input.count / 5 + 8)
        for byte in input {
            step(byte, into: &out)
        }
        if out.count > before, let last = out.last {
            lastEmitted = last
        }
    }

    /// Convenience for callers that hold an array (tests, small inputs).
    mutating func encode(_ input: [UInt8], into out: inout [UInt8]) {
        input.withUnsafeBufferPointer { encode($0, into: &out) }
    }

    /// Flushes whatever was held back and closes the message: it must end with
    /// a line end, and mbox wants a blank line before the next From_ line.
    mutating func finish(into out: inout [UInt8]) {
        if atLineStart && matched > 0 {
            out.append(contentsOf: MboxrdEncoder.fromPrefix[0..<matched])
            lastEmitted = MboxrdEncoder.fromPrefix[matched - 1]
        }
        matched = 0
        atLineStart = false
        if pendingCR {
            out.append(MboxrdEncoder.cr)
            lastEmitted = MboxrdEncoder.cr
            pendingCR = false
        }
        if lastEmitted != MboxrdEncoder.lf {
            out.append(MboxrdEncoder.lf)
        }
        out.append(MboxrdEncoder.lf)
        lastEmitted = MboxrdEncoder.lf
    }

    @inline(__always)
    private mutating func step(_ byte: UInt8, into out: inout [UInt8]) {
        if pendingCR {
            pendingCR = false
            if byte == MboxrdEncoder.lf {
                out.append(MboxrdEncoder.lf)
                atLineStart = true
                matched = 0
                return
            }
            // A lone CR is content, not a line end: readers split on LF only.
            out.append(MboxrdEncoder.cr)
        }
        if atLineStart {
            if matched == 0 && byte == MboxrdEncoder.gt {
                out.append(byte)
                return
            }
            if byte == MboxrdEncoder.fromPrefix[matched] {
                matched += 1
                if matched == MboxrdEncoder.fromPrefix.count {
                    out.append(MboxrdEncoder.gt)
                    out.append(contentsOf: MboxrdEncoder.fromPrefix)
                    matched = 0
                    atLineStart = false
                }
                return
            }
            out.append(contentsOf: MboxrdEncoder.fromPrefix[0..<matched])
            matched = 0
            atLineStart = false
        }
        if byte == MboxrdEncoder.cr {
            pendingCR = true
            return
        }
        out.append(byte)
        if byte == MboxrdEncoder.lf {
            atLineStart = true
        }
    }
}

/// The separator line and the header lines written before the message.
enum MboxPreamble {
    private static let weekdays = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    private static let months = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun",
        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]

    /// `From <sender> <asctime date>\n`, in UTC.
    ///
    /// UTC rather than local time because the result must not depend on which
    /// time zone files a dropped worker can still read, and readers only need
    /// the line to parse. The date is formatted here instead of by `asctime`,
    /// which uses a static buffer and is undefined past year 9999.
    static func fromLine(sender: String, arrival: Int64) throws(MboxError) -> [UInt8] {
        guard let t = time_t(exactly: arrival) else {
            throw .invalidArgument(reason: "arrival time \(arrival) does not fit in time_t")
        }
        var seconds = t
        var parts = tm()
        guard gmtime_r(&seconds, &parts) != nil,
            (0..<7).contains(Int(parts.tm_wday)),
            (0..<12).contains(Int(parts.tm_mon))
        else {
            throw .invalidArgument(reason: "arrival time \(arrival) cannot be expressed as a date")
        }
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        let day = parts.tm_mday < 10 ? " \(parts.tm_mday)" : "\(parts.tm_mday)"
        let date =
            "\(weekdays[Int(parts.tm_wday)]) \(months[Int(parts.tm_mon)]) \(day) "
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) "
            + "\(Int64(parts.tm_year) + 1900)"
        var line = Array("From ".utf8)
        line.append(contentsOf: fromLineSender(sender))
        line.append(0x20)
        line.append(contentsOf: date.utf8)
        line.append(0x0A)
        return line
    }

    /// The sender as it may appear on the From_ line.
    ///
    /// Readers find the date by splitting the line on spaces, and a line break
    /// would forge a separator, so whitespace and control bytes (possible in a
    /// quoted local part) become `_`. Rejecting instead would bounce mail from
    /// a valid if odd address over a cosmetic field. The null sender is
    /// written `MAILER-DAEMON`, as every mbox writer does.
    static func fromLineSender(_ sender: String) -> [UInt8] {
        if sender.isEmpty {
            return Array("MAILER-DAEMON".utf8)
        }
        return sender.utf8.map { byte in
            (byte <= 0x20 || byte == 0x7F) ? UInt8(ascii: "_") : byte
        }
    }

    /// The extra header lines, each followed by LF.
    ///
    /// Each must be a real header field (`name: value`, name of printable
    /// ASCII without colon) with no line break or NUL: anything else could
    /// start a forged message or header block. A field name cannot contain a
    /// space, so no such line can look like a From_ line.
    static func headerLines(_ headers: [String]) throws(MboxError) -> [UInt8] {
        var out: [UInt8] = []
        for header in headers {
            let bytes = Array(header.utf8)
            guard let colon = bytes.firstIndex(of: UInt8(ascii: ":")), colon > 0 else {
                throw .invalidArgument(reason: "extra header has no field name: \(header.debugDescription)")
            }
            guard bytes[..<colon].allSatisfy({ $0 >= 0x21 && $0 <= 0x7E }) else {
                throw .invalidArgument(reason: "extra header has an invalid field name: \(header.debugDescription)")
            }
            guard !bytes.contains(where: { $0 == 0x0D || $0 == 0x0A || $0 == 0x00 }) else {
                throw .invalidArgument(reason: "extra header contains CR, LF or NUL: \(header.debugDescription)")
            }
            out.append(contentsOf: bytes)
            out.append(0x0A)
        }
        return out
    }
}
