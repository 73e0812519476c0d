import MailVocabulary

/// The checks on flag values: each returns the value as the invocation
/// keeps it or refuses it with a usage error that names the flag.
enum SendmailValues {
    static func mode(_ value: String) throws(SendmailUsageError) -> SendmailMode {
        switch value {
        case "m": return .deliver
        case "s": return .smtpSession
        case "p": return .printQueue
        case "i": return .rebuildAliases
        case "v": return .verify
        case "d", "D": return .daemon
        default: throw SendmailUsageError("unsupported mode -b\(value)")
        }
    }

    static func bodyType(_ value: String) throws(SendmailUsageError) -> MessageBodyType {
        switch value.uppercased() {
        case "7BIT": return .sevenBit
        case "8BITMIME": return .eightBitMIME
        default: throw SendmailUsageError("-B takes 7BIT or 8BITMIME, not \"\(value)\"")
        }
    }

    /// `never`, or a comma list of success, failure and delay, in any case.
    static func notify(_ value: String) throws(SendmailUsageError) -> DSNNotify {
        var result: DSNNotify = []
        for item in value.split(separator: ",", omittingEmptySubsequences: false) {
            let word = item.trimmingBlanks
            guard let keyword = DSNNotify(keyword: word) else {
                throw SendmailUsageError("-N takes never or success,failure,delay, not \"\(value)\"")
            }
            result.insert(keyword)
        }
        if result.contains(.never) && result != .never {
            throw SendmailUsageError("-N never cannot be combined with other keywords")
        }
        return result
    }

    static func ret(_ value: String) throws(SendmailUsageError) -> DSNReturn {
        guard let ret = DSNReturn(keyword: value) else {
            throw SendmailUsageError("-R takes full or hdrs, not \"\(value)\"")
        }
        return ret
    }

    /// RFC 3461 §4.4: at most 100 characters; printable ASCII, so that it
    /// xtext-encodes without surprises and logs as it is.
    static func envelopeID(_ value: String) throws(SendmailUsageError) -> String {
        guard !value.isEmpty, value.utf8.count <= SendmailArguments.maxEnvelopeIDLength,
            value.utf8.allSatisfy(Bytes.isPrintable)
        else {
            throw SendmailUsageError("-V takes 1 to 100 printable ASCII characters")
        }
        return value
    }

    static func hopCount(_ value: String) throws(SendmailUsageError) -> Int {
        guard !value.isEmpty, value.utf8.allSatisfy(Bytes.isDigit), value.utf8.count <= 4, let count = Int(value),
            count <= SendmailArguments.maxHopCount
        else {
            throw SendmailUsageError("-h takes a hop count from 0 to \(SendmailArguments.maxHopCount)")
        }
        return count
    }

    /// -f and -r: `<>` and "" are the null sender; one pair of angle
    /// brackets around an address is dropped.
    static func sender(_ value: String) throws(SendmailUsageError) -> String {
        var address = value.trimmingBlanks
        if address.hasPrefix("<") && address.hasSuffix(">") && address.count >= 2 {
            address = String(address.dropFirst().dropLast()).trimmingBlanks
        }
        guard Bytes.hasNoControls(address), address.utf8.count <= SendmailArguments.maxValueLength else {
            throw SendmailUsageError("invalid sender address: \(value.debugDescription)")
        }
        return address
    }

    /// Text that ends up in a header line, a log line or a path: no
    /// control characters (a CR LF in -F would add a header of its own).
    static func text(_ value: String, flag: String, allowEmpty: Bool = false) throws(SendmailUsageError) -> String {
        guard allowEmpty || !value.isEmpty, Bytes.hasNoControls(value),
            value.utf8.count <= SendmailArguments.maxValueLength
        else {
            throw SendmailUsageError("invalid value for \(flag): \(value.debugDescription)")
        }
        return value
    }
}

extension StringProtocol {
    /// Without leading and trailing spaces and tabs.
    var trimmingBlanks: String {
        let scalars = String(self).unicodeScalars
        guard let first = scalars.firstIndex(where: { $0 != " " && $0 != "\t" }),
            let last = scalars.lastIndex(where: { $0 != " " && $0 != "\t" })
        else { return "" }
        return String(scalars[first...last])
    }
}

/// One command-line argument as an address list: split at the commas that
/// are outside quotes, angle brackets and comments, as Sendmail does, so
/// that `"Smith, J" <j@x>` stays one address.
enum RecipientArgument {
    static func split(_ argument: String) -> [String] {
        var parts: [String] = []
        var current: [UInt8] = []
        var inQuotes = false
        var escaped = false
        var angleDepth = 0
        var commentDepth = 0
        for byte in argument.utf8 {
            if escaped {
                escaped = false
            } else {
                switch byte {
                case Bytes.backslash where inQuotes || commentDepth > 0: escaped = true
                case Bytes.quote where commentDepth == 0: inQuotes.toggle()
                case Bytes.leftParen where !inQuotes: commentDepth += 1
                case Bytes.rightParen where !inQuotes && commentDepth > 0: commentDepth -= 1
                case Bytes.lessThan where !inQuotes && commentDepth == 0: angleDepth += 1
                case Bytes.greaterThan where !inQuotes && commentDepth == 0 && angleDepth > 0: angleDepth -= 1
                case Bytes.comma where !inQuotes && commentDepth == 0 && angleDepth == 0:
                    parts.append(String(decoding: current, as: UTF8.self))
                    current = []
                    continue
                default: break
                }
            }
            current.append(byte)
        }
        parts.append(String(decoding: current, as: UTF8.self))
        return parts.map(\.trimmingBlanks).filter { !$0.isEmpty }
    }
}
