/// Why the content stage refuses a message (besides its size).
enum HeaderProblem: Equatable, Sendable {
    /// More than `maxHeaderSectionSize` octets or `maxHeaderLines` lines.
    case sectionTooLarge
    /// More Received: fields than `maxReceivedHeaders` (RFC 5321 §6.3).
    case tooManyHops
    /// The header section does not follow RFC 5322 §2.2; the text says
    /// where and why.
    case malformed(String)
}

/// The stage between the transfer decoding (`DataReceiver`, for DATA and
/// for BDAT chunks) and the spool file, shared by DATA and BDAT:
/// it counts the message size, checks the header section's syntax and
/// Received: count, and adds the headers the message lacks at the end of
/// its header section.
///
/// The header section is held back (bounded by `Limits`) until it ends,
/// because the added headers go after it; the body streams through. Lines
/// end at LF; the decoding before this stage refuses or normalizes bare
/// line endings, so what arrives is CR LF (the checks below stay, so that
/// this stage is safe on its own).
///
/// Rules, strict on purpose because header parsers that disagree are how
/// forged headers get past filters:
/// - a field is `name: value` with `name = 1*ftext` (printable ASCII but
///   ":"); blanks between the name and the colon are accepted (RFC 5322
///   §4.5.3 obsolete syntax, still sent);
/// - a continuation line starts with SP or HTAB and follows a field; a
///   line of blanks only is refused (some readers take it for the end of
///   the header section, others do not);
/// - a bare CR or a NUL in the header section is refused;
/// - an empty line ends the header section;
/// - a message whose first line is not a field at all has no header
///   section: the added headers and an empty line are put before it, as
///   Sendmail does. Any later line that is neither a field, a continuation
///   nor the empty line makes the header section malformed;
/// - a message that ends inside its header section is all header.
struct MessageAssembler: Sendable {
    struct Limits: Sendable {
        var maxMessageSize: Int
        var maxReceivedHeaders: Int
        var maxHeaderSectionSize: Int
        var maxHeaderLines: Int
    }

    let limits: Limits
    /// Added when the message has no Date: field (nil: never added).
    let date: String?
    /// Added when the message has no Message-ID: field (nil: never added).
    let messageID: String?
    /// X-Authentication-Warning: values, always added.
    let warnings: [String]
    /// Rewrites the sender fields of the header section once it is whole.
    let masquerader: Masquerader?

    /// Message octets seen, as the client sent them (after DATA's
    /// unstuffing), whether written or not.
    private(set) var contentSize = 0
    private(set) var receivedCount = 0
    private(set) var problem: HeaderProblem?
    private(set) var inHeaderSection = true
    /// The header section so far, its last line possibly incomplete.
    private var buffer: [UInt8] = []
    private var lineStart = 0
    private var lineCount = 0
    private var fieldCount = 0
    private var sawDate = false
    private var sawMessageID = false
    /// The message's own Message-ID (its field's first line, trimmed), for
    /// the log line that lets `postern log --trace` find it.
    private var foundMessageID: String?

    init(
        limits: Limits, date: String?, messageID: String?, warnings: [String] = [], masquerader: Masquerader? = nil
    ) {
        self.limits = limits
        self.date = date
        self.messageID = messageID
        self.warnings = warnings
        self.masquerader = masquerader
    }

    /// The header section as it goes out: masqueraded when configured.
    /// Only complete lines are given to the masquerader; a section whose
    /// last line has no line ending (a BDAT message that is all header)
    /// goes out as received.
    private func section(_ lines: ArraySlice<UInt8>) -> [UInt8] {
        guard let masquerader, masquerader.isActive, lines.last == ASCII.lf else { return Array(lines) }
        return masquerader.rewriteHeaderSection(lines)
    }

    var sizeExceeded: Bool { contentSize > limits.maxMessageSize }

    /// Once the message is certain to be refused, nothing more is output.
    var isDoomed: Bool { sizeExceeded || problem != nil }

    /// The reply for a refused message, most specific reason first.
    var refusal: SMTPReply? {
        if sizeExceeded { return .messageTooBig }
        switch problem {
        case nil: return nil
        case .sectionTooLarge: return .headerSectionTooLarge
        case .tooManyHops: return .tooManyHops
        case .malformed(let reason): return .headerMalformed(reason)
        }
    }

    /// Takes message content, appending to `output` what is ready to be
    /// written.
    mutating func consume(_ bytes: ArraySlice<UInt8>, into output: inout [UInt8]) {
        contentSize += bytes.count
        guard !isDoomed else { return release() }
        guard inHeaderSection else {
            output.append(contentsOf: bytes)
            return
        }
        var index = bytes.startIndex
        while index < bytes.endIndex && inHeaderSection {
            let lineEnd = bytes[index...].firstIndex(of: ASCII.lf)
            let segmentEnd = lineEnd.map { $0 + 1 } ?? bytes.endIndex
            guard buffer.count + (segmentEnd - index) <= limits.maxHeaderSectionSize else {
                problem = .sectionTooLarge
                return release()
            }
            buffer.append(contentsOf: bytes[index..<segmentEnd])
            index = segmentEnd
            if lineEnd != nil {
                endOfLine(&output)
                if isDoomed { return release() }
            }
        }
        if index < bytes.endIndex { output.append(contentsOf: bytes[index...]) }
    }

    /// The end of the message: a message that is still in its header
    /// section is all header.
    mutating func finish(into output: inout [UInt8]) {
        guard !isDoomed, inHeaderSection else { return release() }
        if lineStart < buffer.count {
            // A last line without a line ending (only BDAT can end so).
            lineCount += 1
            let kind = classify(buffer[lineStart...])
            switch kind {
            case .endOfSection:
                break  // unreachable: the line is not empty
            case .field, .continuation:
                if lineCount > limits.maxHeaderLines && problem == nil { problem = .sectionTooLarge }
            case .notAField where fieldCount == 0 && lineCount == 1:
                return startBodyWithoutHeaders(&output)
            case .notAField(let reason), .problem(let reason):
                problem = .malformed("line \(lineCount): \(reason)")
            }
            guard !isDoomed else { return release() }
            output.append(contentsOf: section(buffer[...]))
            let added = addedHeaders()
            if !added.isEmpty {
                output.append(contentsOf: ASCII.crlf)
                output.append(contentsOf: added)
            }
        } else {
            output.append(contentsOf: section(buffer[...]))
            output.append(contentsOf: addedHeaders())
        }
        buffer = []
        inHeaderSection = false
    }

    // MARK: - Lines

    private enum LineKind {
        case endOfSection
        case field
        case continuation
        case notAField(String)
        case problem(String)
    }

    private mutating func endOfLine(_ output: inout [UInt8]) {
        lineCount += 1
        var contentEnd = buffer.count - 1
        if contentEnd > lineStart && buffer[contentEnd - 1] == ASCII.cr { contentEnd -= 1 }
        switch classify(buffer[lineStart..<contentEnd]) {
        case .endOfSection:
            output.append(contentsOf: section(buffer[..<lineStart]))
            output.append(contentsOf: addedHeaders())
            output.append(contentsOf: buffer[lineStart...])
            buffer = []
            inHeaderSection = false
            return
        case .field, .continuation:
            if lineCount > limits.maxHeaderLines && problem == nil { problem = .sectionTooLarge }
        case .notAField where fieldCount == 0 && lineCount == 1:
            return startBodyWithoutHeaders(&output)
        case .notAField(let reason), .problem(let reason):
            problem = .malformed("line \(lineCount): \(reason)")
        }
        lineStart = buffer.count
    }

    /// Decides what one line (without its line ending) is, and records
    /// what a field says about the message.
    private mutating func classify(_ line: ArraySlice<UInt8>) -> LineKind {
        guard let first = line.first else { return .endOfSection }
        if line.contains(ASCII.cr) { return .problem("bare CR") }
        if line.contains(ASCII.nul) { return .problem("NUL character") }
        if ASCII.isBlank(first) {
            guard fieldCount > 0 else { return .problem("continuation line before the first field") }
            guard !line.allSatisfy(ASCII.isBlank) else { return .problem("line of only blanks") }
            return .continuation
        }
        guard let colon = line.firstIndex(of: ASCII.colon) else { return .notAField("not a header field") }
        var name = line[..<colon]
        while let last = name.last, ASCII.isBlank(last) { name.removeLast() }
        guard !name.isEmpty, name.allSatisfy(ASCII.isPrintable) else { return .notAField("invalid field name") }
        fieldCount += 1
        if ASCII.equalsIgnoringCase(name, "RECEIVED") {
            receivedCount += 1
            if receivedCount > limits.maxReceivedHeaders { problem = .tooManyHops }
        } else if ASCII.equalsIgnoringCase(name, "DATE") {
            sawDate = true
        } else if ASCII.equalsIgnoringCase(name, "MESSAGE-ID") {
            sawMessageID = true
            if foundMessageID == nil { foundMessageID = Self.loggable(line[line.index(after: colon)...]) }
        }
        return .field
    }

    /// The first line is not a field: the message has no header section.
    /// The added headers and the empty line that ends them go first, so
    /// the line cannot be read as a continuation of our Received: field.
    private mutating func startBodyWithoutHeaders(_ output: inout [UInt8]) {
        output.append(contentsOf: addedHeaders())
        output.append(contentsOf: ASCII.crlf)
        output.append(contentsOf: buffer)
        buffer = []
        inHeaderSection = false
    }

    /// The Message-ID as the message has it, or as it was added; nil when
    /// neither (a value that is not plain printable text is not logged).
    var loggedMessageID: String? {
        sawMessageID ? foundMessageID : messageID
    }

    /// Printable ASCII without blanks, at most 250 octets: what may go
    /// into a log line as one word.
    private static func loggable(_ value: ArraySlice<UInt8>) -> String? {
        let trimmed = value.drop(while: ASCII.isBlank).reversed().drop(while: ASCII.isBlank).reversed()
        guard !trimmed.isEmpty, trimmed.count <= 250, trimmed.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            return nil
        }
        return String(decoding: trimmed, as: UTF8.self)
    }

    private func addedHeaders() -> [UInt8] {
        var text = ""
        for warning in warnings { text += "X-Authentication-Warning: \(warning)\r\n" }
        if let date, !sawDate { text += "Date: \(date)\r\n" }
        if let messageID, !sawMessageID { text += "Message-ID: \(messageID)\r\n" }
        return Array(text.utf8)
    }

    private mutating func release() {
        buffer = []
        lineStart = 0
    }
}
