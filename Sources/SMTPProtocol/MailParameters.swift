/// RFC 6152: what the client says the body contains. Recorded so that a
/// relay can tell whether an 8-bit message may need downgrading.
public enum MailBodyType: Equatable, Sendable {
    case sevenBit
    case eightBitMIME
}

/// The ESMTP parameters MAIL FROM understands. Anything else is refused with
/// 555 (RFC 5321 §4.1.1.11) rather than ignored, so that a client never
/// believes an extension we do not implement took effect.
public struct MailParameters: Equatable, Sendable {
    /// RFC 1870 declared size; saturates instead of overflowing.
    public var size: Int?
    public var body: MailBodyType?

    public init(size: Int? = nil, body: MailBodyType? = nil) {
        self.size = size
        self.body = body
    }

    public var isEmpty: Bool { size == nil && body == nil }
}

/// `*( SP esmtp-param )` after a path, split into keyword and value.
enum ESMTPParameterList {
    struct Parameter {
        /// Uppercased; checked to be `(ALPHA / DIGIT) *(ALPHA / DIGIT / "-")`.
        var keyword: String
        var value: ArraySlice<UInt8>?
    }

    /// Returns nil when the text is not a well-formed parameter list, which
    /// the caller reports as a syntax error rather than an unknown option.
    static func parse(_ bytes: ArraySlice<UInt8>) -> [Parameter]? {
        guard !bytes.isEmpty else { return [] }
        guard bytes.first == ASCII.space else { return nil }
        var parameters: [Parameter] = []
        for token in bytes.split(separator: ASCII.space) {
            let keyword: ArraySlice<UInt8>
            let value: ArraySlice<UInt8>?
            if let equals = token.firstIndex(of: ASCII.equals) {
                keyword = token[..<equals]
                value = token[(equals + 1)...]
            } else {
                keyword = token
                value = nil
            }
            guard let first = keyword.first, ASCII.isAlphanumeric(first),
                keyword.allSatisfy({ ASCII.isAlphanumeric($0) || $0 == ASCII.hyphen })
            else { return nil }
            if let value {
                // esmtp-value: 1*(%d33-60 / %d62-126)
                guard !value.isEmpty, value.allSatisfy({ ASCII.isPrintable($0) && $0 != ASCII.equals }) else {
                    return nil
                }
            }
            parameters.append(Parameter(keyword: ASCII.string(keyword.map(ASCII.uppercased)), value: value))
        }
        return parameters
    }
}

extension MailParameters {
    static func parse(_ bytes: ArraySlice<UInt8>) throws(SMTPCommandError) -> MailParameters {
        guard let list = ESMTPParameterList.parse(bytes) else { throw .syntax(usage: SMTPCommand.mailUsage) }
        var result = MailParameters()
        for parameter in list {
            switch parameter.keyword {
            case "SIZE":
                guard result.size == nil, let value = parameter.value, value.allSatisfy(ASCII.isDigit) else {
                    throw .invalidParameter(keyword: "SIZE")
                }
                result.size = value.reduce(0) { total, digit in
                    let (times, overflow1) = total.multipliedReportingOverflow(by: 10)
                    let (sum, overflow2) = times.addingReportingOverflow(Int(digit - 0x30))
                    return overflow1 || overflow2 ? Int.max : sum
                }
            case "BODY":
                guard result.body == nil, let value = parameter.value else {
                    throw .invalidParameter(keyword: "BODY")
                }
                if ASCII.equalsIgnoringCase(value, "7BIT") {
                    result.body = .sevenBit
                } else if ASCII.equalsIgnoringCase(value, "8BITMIME") {
                    result.body = .eightBitMIME
                } else {
                    throw .invalidParameter(keyword: "BODY")
                }
            default:
                throw .unsupportedParameter(keyword: parameter.keyword)
            }
        }
        return result
    }
}
