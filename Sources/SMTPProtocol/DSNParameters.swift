/// RFC 3461 §4: `xtext = *( xchar / hexchar )`, where xchar is any
/// printable ASCII but "+" and "=", and hexchar is "+" and two uppercase
/// hex digits. Decoding is strict (lowercase hex is not in the grammar), and
/// what it yields must be printable ASCII or a space: the values end up in
/// the queue's control file and in bounce messages, where a decoded CR, LF
/// or NUL would forge structure.
enum XText {
    static func decode(_ bytes: ArraySlice<UInt8>) -> String? {
        var decoded: [UInt8] = []
        decoded.reserveCapacity(bytes.count)
        var index = bytes.startIndex
        while index < bytes.endIndex {
            let byte = bytes[index]
            if byte == ASCII.plus {
                guard bytes.endIndex - index >= 3, let high = hexValue(bytes[index + 1]),
                    let low = hexValue(bytes[index + 2])
                else { return nil }
                decoded.append(high << 4 | low)
                index += 3
            } else {
                guard ASCII.isPrintable(byte), byte != ASCII.equals else { return nil }
                decoded.append(byte)
                index += 1
            }
        }
        guard decoded.allSatisfy({ $0 == ASCII.space || ASCII.isPrintable($0) }) else { return nil }
        return ASCII.string(decoded)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x30...0x39: return byte - 0x30
        case 0x41...0x46: return byte - 0x41 + 10
        default: return nil
        }
    }
}

/// The ESMTP parameters RCPT TO understands: RFC 3461's NOTIFY and ORCPT.
/// Anything else is refused with 555, as for MAIL.
public struct RecipientParameters: Equatable, Sendable {
    /// nil when NOTIFY was not given (the queue applies the RFC 3461
    /// default, FAILURE and DELAY).
    public var notify: DSNNotify?
    /// `addr-type;address`, the address decoded from xtext, e.g.
    /// `rfc822;alice@example.test`.
    public var orcpt: String?

    public init(notify: DSNNotify? = nil, orcpt: String? = nil) {
        self.notify = notify
        self.orcpt = orcpt
    }

    public var isEmpty: Bool { notify == nil && orcpt == nil }

    /// The keywords given, in a fixed order, for refusing them to a client
    /// that did not say EHLO.
    var keywords: [String] {
        (notify == nil ? [] : ["NOTIFY"]) + (orcpt == nil ? [] : ["ORCPT"])
    }

    /// RFC 3461 §4.2: "ORCPT=" value, 500 characters at most.
    static let maxOriginalRecipientLength = 500
}

extension RecipientParameters {
    static func parse(_ bytes: ArraySlice<UInt8>) throws(SMTPCommandError) -> RecipientParameters {
        guard let list = ESMTPParameterList.parse(bytes) else { throw .syntax(usage: SMTPCommand.rcptUsage) }
        var result = RecipientParameters()
        for parameter in list {
            switch parameter.keyword {
            case "NOTIFY":
                guard result.notify == nil, let value = parameter.value, let notify = parseNotify(value) else {
                    throw .invalidParameter(keyword: "NOTIFY")
                }
                result.notify = notify
            case "ORCPT":
                guard result.orcpt == nil, let value = parameter.value, let orcpt = parseOriginalRecipient(value) else {
                    throw .invalidParameter(keyword: "ORCPT")
                }
                result.orcpt = orcpt
            default:
                throw .unsupportedParameter(keyword: parameter.keyword)
            }
        }
        return result
    }

    /// `"NEVER" / 1#( "SUCCESS" / "FAILURE" / "DELAY" )`, each at most once.
    private static func parseNotify(_ value: ArraySlice<UInt8>) -> DSNNotify? {
        var result: DSNNotify = []
        for item in value.split(separator: ASCII.comma, omittingEmptySubsequences: false) {
            guard let notify = DSNNotify(keyword: ASCII.string(item)), result.insert(notify).inserted else {
                return nil
            }
        }
        if result.contains(.never) && result != .never { return nil }
        return result
    }

    /// `addr-type ";" xtext` with `addr-type = atom` (RFC 3461 §4.2).
    private static func parseOriginalRecipient(_ value: ArraySlice<UInt8>) -> String? {
        guard value.count <= maxOriginalRecipientLength, let semicolon = value.firstIndex(of: ASCII.semicolon) else {
            return nil
        }
        let type = value[..<semicolon]
        guard !type.isEmpty, type.allSatisfy(ASCII.isAtext),
            let address = XText.decode(value[(semicolon + 1)...]), !address.isEmpty
        else { return nil }
        return "\(ASCII.string(type));\(address)"
    }
}
