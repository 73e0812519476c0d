/// The ESMTP parameters MAIL FROM understands. Anything else is refused with
/// 555 (RFC 5321 §4.1.1.11) rather than ignored, so that a client never
/// believes an extension we do not implement took effect.
public struct MailParameters: Equatable, Sendable {
    /// RFC 1870 declared size; saturates instead of overflowing.
    public var size: Int?
    public var body: MessageBodyType?
    /// RFC 6531: the transaction may carry UTF-8 addresses and headers.
    public var smtputf8: Bool
    /// RFC 3461 RET.
    public var ret: DSNReturn?
    /// RFC 3461 ENVID, decoded from xtext.
    public var envid: String?
    /// RFC 4954 §5 AUTH=: the identity a trusted relay says submitted the
    /// message, decoded from xtext; "<>" when unknown. Only recorded: the
    /// session's own authentication is what policy uses.
    public var auth: String?

    public init(
        size: Int? = nil, body: MessageBodyType? = nil, smtputf8: Bool = false, ret: DSNReturn? = nil,
        envid: String? = nil
    ) {
        self.size = size
        self.body = body
        self.smtputf8 = smtputf8
        self.ret = ret
        self.envid = envid
    }

    public var isEmpty: Bool { keywords.isEmpty }

    /// The keywords given, in a fixed order, for refusing them to a client
    /// that did not say EHLO.
    var keywords: [String] {
        var result: [String] = []
        if size != nil { result.append("SIZE") }
        if body != nil { result.append("BODY") }
        if smtputf8 { result.append("SMTPUTF8") }
        if ret != nil { result.append("RET") }
        if envid != nil { result.append("ENVID") }
        if auth != nil { result.append("AUTH") }
        return result
    }

    /// RFC 3461 §4.4: the ENVID value is at most 100 characters.
    static let maxEnvelopeIDLength = 100
    /// RFC 4954 §9 allows AUTH= 500 octets of line length.
    static let maxAuthValueLength = 500
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
            case "SMTPUTF8":
                // RFC 6531 §3.4: the parameter takes no value.
                guard !result.smtputf8, parameter.value == nil else { throw .invalidParameter(keyword: "SMTPUTF8") }
                result.smtputf8 = true
            case "RET":
                guard result.ret == nil, let value = parameter.value else { throw .invalidParameter(keyword: "RET") }
                if ASCII.equalsIgnoringCase(value, "FULL") {
                    result.ret = .full
                } else if ASCII.equalsIgnoringCase(value, "HDRS") {
                    result.ret = .headers
                } else {
                    throw .invalidParameter(keyword: "RET")
                }
            case "ENVID":
                guard result.envid == nil, let value = parameter.value, value.count <= maxEnvelopeIDLength,
                    let envid = XText.decode(value), !envid.isEmpty
                else { throw .invalidParameter(keyword: "ENVID") }
                result.envid = envid
            case "AUTH":
                guard result.auth == nil, let value = parameter.value, value.count <= maxAuthValueLength,
                    let identity = XText.decode(value), !identity.isEmpty
                else { throw .invalidParameter(keyword: "AUTH") }
                result.auth = identity
            default:
                throw .unsupportedParameter(keyword: parameter.keyword)
            }
        }
        return result
    }
}
