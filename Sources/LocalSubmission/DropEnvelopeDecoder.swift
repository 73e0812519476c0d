import MailVocabulary

/// Reads a drop file's envelope incrementally, so that the submit process
/// can read the file in chunks and go on with the message where the
/// envelope ends. Strict and bounded: the file was written by any local
/// user (see `DropEnvelope` for the format).
public struct DropEnvelopeDecoder: Sendable {
    /// The longest line, LF included.
    public static let maxLineLength = 4_096
    public static let maxRecipients = SendmailArguments.maxRecipients
    /// The largest envelope, all lines included.
    public static let maxEnvelopeSize = 4 << 20
    /// The longest address, name or tag, decoded.
    public static let maxValueLength = SendmailArguments.maxValueLength

    private var line: [UInt8] = []
    private var lineNumber = 1
    private var size = 0
    private var values: [DropKey: String] = [:]
    private var recipients: [String] = []

    public init() {}

    /// Reads up to the end of the envelope.
    ///
    /// - Returns: nil while the envelope goes on; then the envelope and how
    ///   many bytes of `bytes` it took (the message starts there). Do not
    ///   call again after that.
    public mutating func consume(
        _ bytes: ArraySlice<UInt8>
    ) throws(DropFileError) -> (envelope: DropEnvelope, consumed: Int)? {
        var index = bytes.startIndex
        while index < bytes.endIndex {
            let byte = bytes[index]
            index += 1
            size += 1
            guard size <= DropEnvelopeDecoder.maxEnvelopeSize else { throw .envelopeTooLarge }
            guard byte == Bytes.lf else {
                guard line.count + 1 < DropEnvelopeDecoder.maxLineLength else { throw .lineTooLong(line: lineNumber) }
                line.append(byte)
                continue
            }
            if line.isEmpty && lineNumber > 1 {
                return (try envelope(), index - bytes.startIndex)
            }
            try take(line)
            line.removeAll(keepingCapacity: true)
            lineNumber += 1
        }
        return nil
    }

    private mutating func take(_ line: [UInt8]) throws(DropFileError) {
        if lineNumber == 1 {
            guard line == Array(DropEnvelope.magic.utf8) else { throw .notADropFile }
            return
        }
        guard let space = line.firstIndex(of: Bytes.space) else { throw .malformedLine(line: lineNumber) }
        let keyText = String(decoding: line[..<space], as: UTF8.self)
        guard let key = DropKey(rawValue: keyText) else {
            let shown = line[..<space].allSatisfy(Bytes.isPrintable) ? keyText : "(unprintable)"
            throw .unknownKey(String(shown.prefix(40)))
        }
        guard let value = PercentEncoding.decode(line[(space + 1)...]) else { throw .malformedLine(line: lineNumber) }
        guard Bytes.hasNoControls(value), value.utf8.count <= DropEnvelopeDecoder.maxValueLength else {
            throw .invalidValue(key: key.rawValue)
        }
        if key == .recipient {
            guard !value.isEmpty else { throw .invalidValue(key: key.rawValue) }
            guard recipients.count < DropEnvelopeDecoder.maxRecipients else { throw .tooManyRecipients }
            recipients.append(value)
        } else {
            guard values.updateValue(value, forKey: key) == nil else { throw .duplicateKey(key.rawValue) }
        }
    }

    private func envelope() throws(DropFileError) -> DropEnvelope {
        guard let nameText = values[.name] else { throw .missingKey("name") }
        guard let name = DropFileName(nameText) else { throw .invalidValue(key: "name") }
        guard let uidText = values[.uid] else { throw .missingKey("uid") }
        guard let uid = Self.number(uidText, max: Int64(UInt32.max)) else { throw .invalidValue(key: "uid") }
        guard uid == Int64(name.uid) else { throw .inconsistentUID }
        guard let timeText = values[.time] else { throw .missingKey("time") }
        guard let time = Self.number(timeText, max: RFC5322Date.representable.upperBound) else {
            throw .invalidValue(key: "time")
        }
        var envelope = DropEnvelope(name: name, time: time)
        envelope.sender = values[.sender]
        envelope.fullName = values[.fullName]
        envelope.recipients = recipients
        envelope.extractRecipients = try flag(.extract)
        envelope.ignoreDots = try flag(.ignoreDots)
        envelope.verbose = try flag(.verbose)
        envelope.errorMode = try value(.errorMode, SendmailErrorMode.init(rawValue:)) ?? .print
        envelope.deliveryMode = try value(.deliveryMode, SendmailDeliveryMode.init(rawValue:)) ?? .background
        envelope.bodyType = try value(.body, MessageBodyType.init(rawValue:))
        envelope.notify = try value(.notify) { $0 == "-" ? nil : DSNNotify(word: $0) }
        envelope.ret = try value(.ret, DSNReturn.init(rawValue:))
        envelope.envelopeID = try value(.envid) {
            !$0.isEmpty && $0.utf8.count <= SendmailArguments.maxEnvelopeIDLength
                && $0.utf8.allSatisfy(Bytes.isPrintable) ? $0 : nil
        }
        envelope.logTag = try value(.logTag) { $0.isEmpty ? nil : $0 }
        envelope.hopCount = try value(.hopCount) {
            Self.number($0, max: Int64(SendmailArguments.maxHopCount)).map(Int.init)
        }
        return envelope
    }

    private func flag(_ key: DropKey) throws(DropFileError) -> Bool {
        try value(key) { $0 == "1" ? true : nil } ?? false
    }

    /// The key's value through `parse`; nil when absent, an error when
    /// `parse` refuses it.
    private func value<T>(_ key: DropKey, _ parse: (String) -> T?) throws(DropFileError) -> T? {
        guard let text = values[key] else { return nil }
        guard let parsed = parse(text) else { throw .invalidValue(key: key.rawValue) }
        return parsed
    }

    /// Decimal digits without a leading zero (but "0"), at most `max`.
    static func number(_ text: String, max: Int64) -> Int64? {
        let digits = text.utf8
        guard !digits.isEmpty, digits.count <= 19, digits.allSatisfy(Bytes.isDigit),
            digits.count == 1 || digits.first != 0x30, let value = Int64(text), value <= max
        else { return nil }
        return value
    }
}
