import PosternCore

/// Why a control file was refused. Every case carries only sanitized text, so
/// a description can go into the log as it is even when it came from a file
/// that was tampered with.
public enum ControlFileError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Larger than `ControlFile.maxSize`: refused before it is parsed, so a
    /// runaway file cannot make the queue allocate without bound.
    case tooLarge(size: Int)
    /// The last line is not `end`: the file was cut short (a torn write).
    case noEndMarker
    case dataAfterEnd(line: Int)
    /// NUL or CR at this byte offset: never part of any record.
    case forbiddenByte(offset: Int)
    case badHeader
    case unsupportedVersion
    case malformedLine(line: Int)
    case unknownKey(line: Int, key: String)
    case duplicateKey(line: Int, key: String)
    case missingKey(String)
    case lengthMismatch(line: Int)
    case badNumber(line: Int)
    case invalidQueueID(line: Int)
    case badState(line: Int)
    case invalidField(line: Int, EnvelopeFieldError)
    case noRecipients
    /// Refused at encode: a value the decoder would refuse, so that nothing
    /// the queue writes can fail to read back.
    case invalidEnvelope(EnvelopeFieldError)
    case negativeNumber(field: String)
    case encodedTooLarge(size: Int)
    /// Refused at encode: a duplicate that names itself, a later recipient
    /// or another duplicate.
    case badDuplicate(recipient: Int)

    public var description: String {
        switch self {
        case .tooLarge(let size): return "file too large (\(size) bytes)"
        case .noEndMarker: return "no end marker"
        case .dataAfterEnd(let line): return "data after end marker on line \(line)"
        case .forbiddenByte(let offset): return "forbidden byte at offset \(offset)"
        case .badHeader: return "bad header"
        case .unsupportedVersion: return "unsupported version"
        case .malformedLine(let line): return "malformed line \(line)"
        case .unknownKey(let line, let key): return "unknown key \"\(key)\" on line \(line)"
        case .duplicateKey(let line, let key): return "duplicate key \"\(key)\" on line \(line)"
        case .missingKey(let key): return "missing key \"\(key)\""
        case .lengthMismatch(let line): return "length mismatch on line \(line)"
        case .badNumber(let line): return "bad number on line \(line)"
        case .invalidQueueID(let line): return "invalid queue id on line \(line)"
        case .badState(let line): return "bad recipient state on line \(line)"
        case .invalidField(let line, let error): return "invalid field on line \(line): \(ControlFile.describe(error))"
        case .noRecipients: return "no recipients"
        case .invalidEnvelope(let error): return "invalid envelope: \(ControlFile.describe(error))"
        case .negativeNumber(let field): return "negative \(field)"
        case .encodedTooLarge(let size): return "encoded control file too large (\(size) bytes)"
        case .badDuplicate(let recipient): return "recipient \(recipient) is a duplicate of no earlier recipient"
        }
    }
}

/// The on-disk form of an envelope.
///
/// Text, so that an administrator can read a queued message with `cat`;
/// length-prefixed values, so that a value with spaces is never split in two
/// and a value can never be mistaken for a record. Every field goes through
/// `EnvelopeField` in both directions: CR, LF and NUL can never enter a
/// control file (the Exim CVE-2020-28015/28026 class, where a newline in a
/// sender address forged extra spool records). A file is valid only if its
/// last line is `end`, so a torn write is told apart from a message.
///
///     postern-control 1
///     id 0123456789AB
///     sender 18:alice@example.test
///     arrival 1700000000
///     client 9:192.0.2.1
///     helo 17:mail.example.test
///     auth 0:
///     size 1234
///     attempts 0
///     next-attempt 0
///     rcpt pending 3:bob 16:bob@example.test 0:
///     end
///
/// Decoding is strict and never traps: anything not produced by `encode`
/// is refused with a `ControlFileError`.
public enum ControlFile {
    public static let header = "postern-control 1"
    /// Far above what any real envelope needs (a recipient line is at most
    /// ~1.4 KiB), small enough that reading one is cheap.
    public static let maxSize = 1 << 20

    // Field limits, the same as Envelope.validate/Recipient.validate, so that
    // what the listener accepted always fits and nothing else does.
    static let senderLimit = EnvelopeField.maxAddressLength
    static let clientLimit = 64
    static let heloLimit = EnvelopeField.maxAddressLength
    static let authLimit = EnvelopeField.maxAddressLength
    static let addressLimit = EnvelopeField.maxAddressLength
    static let userLimit = 64
    static let resultLimit = EnvelopeField.maxTextLength

    static let requiredKeys = ["id", "sender", "arrival", "client", "helo", "auth", "size", "attempts", "next-attempt"]

    // MARK: encode

    public static func encode(_ envelope: Envelope) throws(ControlFileError) -> [UInt8] {
        do {
            try envelope.validate()
        } catch let error as EnvelopeFieldError {
            throw .invalidEnvelope(error)
        } catch {
            // Envelope.validate only throws EnvelopeFieldError; refuse anyway.
            throw .invalidEnvelope(.forbiddenCharacter(field: "envelope"))
        }
        if envelope.recipients.isEmpty { throw .noRecipients }
        if envelope.arrival < 0 { throw .negativeNumber(field: "arrival") }
        if envelope.size < 0 { throw .negativeNumber(field: "size") }
        if envelope.attempts < 0 { throw .negativeNumber(field: "attempts") }
        if envelope.nextAttempt < 0 { throw .negativeNumber(field: "next-attempt") }

        var out = [UInt8]()
        out.reserveCapacity(256 + envelope.recipients.count * 96)
        func line(_ text: String) { out.append(contentsOf: text.utf8); out.append(0x0A) }
        func string(_ key: String, _ value: String) { line("\(key) \(value.utf8.count):\(value)") }

        line(header)
        line("id \(envelope.queueID.value)")
        string("sender", envelope.sender)
        line("arrival \(envelope.arrival)")
        string("client", envelope.clientAddress)
        string("helo", envelope.clientHelo)
        string("auth", envelope.authUser)
        line("size \(envelope.size)")
        line("attempts \(envelope.attempts)")
        line("next-attempt \(envelope.nextAttempt)")
        if let ret = envelope.dsnReturn { line("ret \(ret.rawValue)") }
        if !envelope.envelopeID.isEmpty { string("envid", envelope.envelopeID) }
        if let body = envelope.bodyType { line("body \(body.rawValue)") }
        if envelope.smtputf8 { line("smtputf8 yes") }
        if envelope.warned { line("warned yes") }
        if envelope.held { line("held yes") }
        if envelope.notice != .none { line("notice \(envelope.notice.rawValue)") }
        for (index, r) in envelope.recipients.enumerated() {
            if let primary = r.duplicateOf,
                !(0..<index).contains(primary) || envelope.recipients[primary].duplicateOf != nil
            {
                throw .badDuplicate(recipient: index)
            }
            let u = r.localUser, a = r.address, t = r.lastResult
            line("rcpt \(stateName(r.state)) \(u.utf8.count):\(u) \(a.utf8.count):\(a) \(t.utf8.count):\(t)")
            // The recipient's DSN requests, on a line of their own right
            // after its rcpt line, only when the client gave any.
            if !r.notify.isEmpty || !r.originalRecipient.isEmpty {
                let o = r.originalRecipient
                line("dsn \(r.notify.word) \(o.utf8.count):\(o)")
            }
            // How far a local recipient is resolved, when it came from an
            // alias or a .forward; after rcpt (and dsn).
            if r.target != .name {
                string("target", r.target.text)
            }
            // A duplicate names the earlier recipient it shares a delivery
            // with; last of the recipient's lines.
            if let primary = r.duplicateOf { line("duplicate-of \(primary)") }
        }
        line("end")
        if out.count > maxSize { throw .encodedTooLarge(size: out.count) }
        return out
    }

    static func stateName(_ state: Recipient.State) -> String {
        switch state {
        case .pending: return "pending"
        case .delivered: return "delivered"
        case .failed: return "failed"
        }
    }

    static func state(named bytes: ArraySlice<UInt8>) -> Recipient.State? {
        switch String(decoding: bytes, as: UTF8.self) {
        case "pending": return .pending
        case "delivered": return .delivered
        case "failed": return .failed
        default: return nil
        }
    }

    // MARK: decode

    public static func decode(_ bytes: [UInt8]) throws(ControlFileError) -> Envelope {
        if bytes.count > maxSize { throw .tooLarge(size: bytes.count) }
        if let offset = bytes.firstIndex(where: { $0 == 0 || $0 == 0x0D }) {
            throw .forbiddenByte(offset: offset)
        }

        // Split into lines; every line, the last included, ends with LF.
        var lines = [ArraySlice<UInt8>]()
        var start = bytes.startIndex
        var endLine: Int? = nil
        for i in bytes.indices where bytes[i] == 0x0A {
            let l = bytes[start..<i]
            lines.append(l)
            start = i + 1
            if endLine == nil, l.elementsEqual("end".utf8) { endLine = lines.count }
        }
        let unterminated = start < bytes.endIndex
        // The end marker first, so that a torn file is reported as torn
        // rather than by whatever the cut happened to break.
        guard let endAt = endLine else { throw .noEndMarker }
        if endAt != lines.count || unterminated { throw .dataAfterEnd(line: endAt + 1) }

        guard let first = lines.first, first.elementsEqual(header.utf8) else {
            if let first = lines.first, first.starts(with: "postern-control ".utf8) { throw .unsupportedVersion }
            throw .badHeader
        }

        var id: QueueID?
        var sender: String?, client: String?, helo: String?, auth: String?
        var arrival: Int64?, size: Int64?, attempts: Int64?, nextAttempt: Int64?
        var recipients = [Recipient]()
        var ret: DSNReturn?, envid: String?, body: MessageBodyType?, smtputf8: Bool?
        var warned: Bool?, notice: MessageNotice?, held: Bool?
        var previousKey = ""

        for index in 1..<(lines.count - 1) {
            let lineNo = index + 1
            let l = lines[index]
            guard let space = l.firstIndex(of: 0x20), space > l.startIndex else { throw .malformedLine(line: lineNo) }
            let keyBytes = l[l.startIndex..<space]
            var cursor = Cursor(bytes: l, position: space + 1, line: lineNo)
            let key = sanitize(keyBytes)

            func once<T>(_ slot: T?) throws(ControlFileError) {
                if slot != nil { throw .duplicateKey(line: lineNo, key: key) }
            }
            defer { previousKey = key }

            switch key {
            case "id":
                try once(id)
                let rest = cursor.rest()
                guard rest.count == QueueID.length,
                    let q = QueueID(String(decoding: rest, as: UTF8.self))
                else { throw .invalidQueueID(line: lineNo) }
                id = q
            case "sender":
                try once(sender)
                sender = try cursor.string(limit: senderLimit, field: "sender", last: true)
            case "client":
                try once(client)
                client = try cursor.string(limit: clientLimit, field: "client", last: true)
            case "helo":
                try once(helo)
                helo = try cursor.string(limit: heloLimit, field: "helo", last: true)
            case "auth":
                try once(auth)
                auth = try cursor.string(limit: authLimit, field: "auth", last: true)
            case "arrival":
                try once(arrival)
                arrival = try cursor.number()
            case "size":
                try once(size)
                size = try cursor.number()
            case "attempts":
                try once(attempts)
                let n = try cursor.number()
                if n > Int64(Int32.max) { throw .badNumber(line: lineNo) }
                attempts = n
            case "next-attempt":
                try once(nextAttempt)
                nextAttempt = try cursor.number()
            case "rcpt":
                let word = cursor.word()
                guard let s = state(named: word) else { throw .badState(line: lineNo) }
                let user = try cursor.string(limit: userLimit, field: "user", last: false)
                let address = try cursor.string(limit: addressLimit, field: "recipient", last: false)
                let result = try cursor.string(limit: resultLimit, field: "result", last: true)
                recipients.append(Recipient(address: address, localUser: user, state: s, lastResult: result))
            case "ret":
                try once(ret)
                guard let value = DSNReturn(rawValue: String(decoding: cursor.rest(), as: UTF8.self)) else {
                    throw .malformedLine(line: lineNo)
                }
                ret = value
            case "body":
                try once(body)
                guard let value = MessageBodyType(rawValue: String(decoding: cursor.rest(), as: UTF8.self)) else {
                    throw .malformedLine(line: lineNo)
                }
                body = value
            case "smtputf8":
                try once(smtputf8)
                guard cursor.rest().elementsEqual("yes".utf8) else { throw .malformedLine(line: lineNo) }
                smtputf8 = true
            case "envid":
                try once(envid)
                envid = try cursor.string(limit: 100, field: "envid", last: true)
            case "warned":
                try once(warned)
                guard cursor.rest().elementsEqual("yes".utf8) else { throw .malformedLine(line: lineNo) }
                warned = true
            case "held":
                try once(held)
                guard cursor.rest().elementsEqual("yes".utf8) else { throw .malformedLine(line: lineNo) }
                held = true
            case "notice":
                try once(notice)
                guard let kind = MessageNotice(rawValue: String(decoding: cursor.rest(), as: UTF8.self)),
                    kind != .none
                else { throw .malformedLine(line: lineNo) }
                notice = kind
            case "target":
                // Belongs to the recipient right above (its rcpt or dsn line).
                guard previousKey == "rcpt" || previousKey == "dsn", var last = recipients.popLast() else {
                    throw .malformedLine(line: lineNo)
                }
                let text = try cursor.string(
                    limit: EnvelopeField.maxTargetLength, field: "target", last: true)
                guard let target = LocalTarget(text: text), target != .name else { throw .malformedLine(line: lineNo) }
                last.target = target
                recipients.append(last)
            case "duplicate-of":
                // Belongs to the recipient right above (its rcpt, dsn or
                // target line); names an earlier recipient that is not a
                // duplicate itself, so following it never loops.
                guard ["rcpt", "dsn", "target"].contains(previousKey), var last = recipients.popLast() else {
                    throw .malformedLine(line: lineNo)
                }
                let primary = try cursor.number()
                guard primary < Int64(recipients.count), recipients[Int(primary)].duplicateOf == nil else {
                    throw .malformedLine(line: lineNo)
                }
                last.duplicateOf = Int(primary)
                recipients.append(last)
            case "dsn":
                // Belongs to the rcpt line right above it, which has none yet.
                guard previousKey == "rcpt", var last = recipients.popLast() else { throw .malformedLine(line: lineNo) }
                guard let notify = DSNNotify(word: String(decoding: cursor.word(), as: UTF8.self)) else {
                    throw .malformedLine(line: lineNo)
                }
                last.notify = notify
                last.originalRecipient = try cursor.string(limit: 500, field: "orcpt", last: true)
                recipients.append(last)
            default:
                throw .unknownKey(line: lineNo, key: key)
            }
        }

        guard let id else { throw .missingKey("id") }
        guard let sender else { throw .missingKey("sender") }
        guard let arrival else { throw .missingKey("arrival") }
        guard let client else { throw .missingKey("client") }
        guard let helo else { throw .missingKey("helo") }
        guard let auth else { throw .missingKey("auth") }
        guard let size else { throw .missingKey("size") }
        guard let attempts else { throw .missingKey("attempts") }
        guard let nextAttempt else { throw .missingKey("next-attempt") }
        if recipients.isEmpty { throw .noRecipients }

        var envelope = Envelope(
            queueID: id, sender: sender, recipients: recipients, arrival: arrival,
            clientAddress: client, clientHelo: helo, authUser: auth, size: size,
            attempts: Int32(truncatingIfNeeded: attempts), nextAttempt: nextAttempt, dsnReturn: ret,
            envelopeID: envid ?? "", bodyType: body, smtputf8: smtputf8 ?? false)
        envelope.warned = warned ?? false
        envelope.notice = notice ?? .none
        envelope.held = held ?? false
        return envelope
    }

    /// Reads the values of one line left to right; each reader requires the
    /// value to end exactly where the format puts a separator, so no value can
    /// run into the next.
    struct Cursor {
        let bytes: ArraySlice<UInt8>
        var position: Int
        let line: Int

        mutating func rest() -> ArraySlice<UInt8> {
            defer { position = bytes.endIndex }
            return bytes[position..<bytes.endIndex]
        }

        /// Up to the next space, which is consumed; the rest of the line if none.
        mutating func word() -> ArraySlice<UInt8> {
            let end = bytes[position...].firstIndex(of: 0x20) ?? bytes.endIndex
            defer { position = end < bytes.endIndex ? end + 1 : end }
            return bytes[position..<end]
        }

        /// Decimal, no sign, no leading zero, fitting Int64, to the end of the line.
        mutating func number() throws(ControlFileError) -> Int64 {
            let digits = rest()
            guard let n = ControlFile.parseDecimal(digits, maxDigits: 19) else { throw .badNumber(line: line) }
            return n
        }

        /// `N:` and then exactly N bytes, followed by a space (consumed) or,
        /// when `last`, by the end of the line.
        mutating func string(limit: Int, field: String, last: Bool) throws(ControlFileError) -> String {
            guard let colon = bytes[position...].firstIndex(of: 0x3A) else { throw .lengthMismatch(line: line) }
            guard let n64 = ControlFile.parseDecimal(bytes[position..<colon], maxDigits: 7) else {
                throw .lengthMismatch(line: line)
            }
            let n = Int(n64)
            let valueStart = colon + 1
            guard bytes.endIndex - valueStart >= n else { throw .lengthMismatch(line: line) }
            let valueEnd = valueStart + n
            if last {
                guard valueEnd == bytes.endIndex else { throw .lengthMismatch(line: line) }
                position = valueEnd
            } else {
                guard valueEnd < bytes.endIndex, bytes[valueEnd] == 0x20 else { throw .lengthMismatch(line: line) }
                position = valueEnd + 1
            }
            do {
                return try EnvelopeField.validateBytes(bytes[valueStart..<valueEnd], field: field, limit: limit)
            } catch let error as EnvelopeFieldError {
                throw .invalidField(line: line, error)
            } catch {
                throw .invalidField(line: line, .invalidUTF8(field: field))
            }
        }
    }

    static func parseDecimal(_ digits: ArraySlice<UInt8>, maxDigits: Int) -> Int64? {
        guard !digits.isEmpty, digits.count <= maxDigits else { return nil }
        if digits.count > 1, digits.first == 0x30 { return nil }
        var n: Int64 = 0
        for d in digits {
            guard d >= 0x30, d <= 0x39 else { return nil }
            let (m, o1) = n.multipliedReportingOverflow(by: 10)
            let (s, o2) = m.addingReportingOverflow(Int64(d - 0x30))
            if o1 || o2 { return nil }
            n = s
        }
        return n
    }

    /// Printable ASCII kept, the rest as \xNN, bounded: for names and keys
    /// taken from disk that end up in a log line.
    public static func sanitize(_ bytes: some Collection<UInt8>, limit: Int = 64) -> String {
        var out = ""
        var count = 0
        for b in bytes {
            if count == limit { out += "..."; break }
            if b >= 0x21, b <= 0x7E, b != 0x22, b != 0x5C {
                out.unicodeScalars.append(Unicode.Scalar(b))
            } else {
                let hex = Array("0123456789abcdef".unicodeScalars)
                out += "\\x"
                out.unicodeScalars.append(hex[Int(b >> 4)])
                out.unicodeScalars.append(hex[Int(b & 15)])
            }
            count += 1
        }
        return out
    }

    static func describe(_ error: EnvelopeFieldError) -> String {
        switch error {
        case .forbiddenCharacter(let field): return "forbidden character in \(field)"
        case .tooLong(let field, let limit): return "\(field) longer than \(limit)"
        case .invalidUTF8(let field): return "invalid UTF-8 in \(field)"
        }
    }
}
