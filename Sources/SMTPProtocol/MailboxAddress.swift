/// A mailbox as it appeared in a MAIL or RCPT path, after syntax checking.
/// The local part is kept in its wire form (quotes and escapes included),
/// because RFC 5321 §2.4 leaves its interpretation to the receiving host,
/// and the queue records the address as the client gave it.
public struct MailboxAddress: Hashable, Sendable, CustomStringConvertible {
    public var localPart: String
    /// Empty only for the bare `<postmaster>` recipient RFC 5321 §4.1.1.3
    /// requires every server to accept.
    public var domain: String

    public init(localPart: String, domain: String) {
        self.localPart = localPart
        self.domain = domain
    }

    /// The address without angle brackets.
    public var address: String { domain.isEmpty ? localPart : "\(localPart)@\(domain)" }

    /// False when the address needs SMTPUTF8 (RFC 6531) to travel.
    public var isASCII: Bool { localPart.utf8.allSatisfy { $0 < 0x80 } && domain.utf8.allSatisfy { $0 < 0x80 } }

    public var description: String { address }
}

/// A MAIL FROM path: the null path `<>` is how bounces avoid loops (RFC 5321
/// §4.5.5), so it has its own case instead of an empty mailbox.
public enum ReversePath: Hashable, Sendable {
    case null
    case mailbox(MailboxAddress)

    /// The address without angle brackets; "" for the null path.
    public var address: String {
        switch self {
        case .null: return ""
        case .mailbox(let mailbox): return mailbox.address
        }
    }

    public var isASCII: Bool {
        switch self {
        case .null: return true
        case .mailbox(let mailbox): return mailbox.isASCII
        }
    }
}

public enum MailboxAddressError: Error, Equatable, Sendable {
    case missingAngleBrackets
    /// `<>` where a mailbox is required (RCPT).
    case nullPathNotAllowed
    case pathTooLong
    case localPartTooLong
    case domainTooLong
    case invalidLocalPart
    case invalidDomain
    case invalidSourceRoute
    /// Needs SMTPUTF8 (RFC 6531), which was not allowed here.
    case nonASCII
    /// Non-ASCII bytes that are not well-formed UTF-8 (or a C1 control),
    /// where SMTPUTF8 allowed UTF-8.
    case invalidUTF8
    case controlCharacter
    case trailingCharacters
}

extension MailboxAddress {
    /// RFC 5321 §4.5.3.1.3, counting the angle brackets.
    public static let maxPathLength = 256
    /// RFC 5321 §4.5.3.1.1.
    public static let maxLocalPartLength = 64
    /// RFC 5321 §4.5.3.1.2.
    public static let maxDomainLength = 255

    /// Parses a complete RCPT path such as `<user@example.test>`.
    ///
    /// - Parameter allowUTF8: accept RFC 6531 UTF-8 in the local part and
    ///   domain (for a transaction that declared SMTPUTF8).
    public static func parseForwardPath(
        _ bytes: some Collection<UInt8>, allowUTF8: Bool = false
    ) throws(MailboxAddressError) -> MailboxAddress {
        let input = Array(bytes)
        let (path, end) = try scanPath(input[...], isReversePath: false, allowUTF8: allowUTF8)
        guard end == input.endIndex else { throw .trailingCharacters }
        guard case .mailbox(let mailbox) = path else { throw .nullPathNotAllowed }
        return mailbox
    }

    /// Parses a complete MAIL path: `<>` or a mailbox path.
    public static func parseReversePath(
        _ bytes: some Collection<UInt8>, allowUTF8: Bool = false
    ) throws(MailboxAddressError) -> ReversePath {
        let input = Array(bytes)
        let (path, end) = try scanPath(input[...], isReversePath: true, allowUTF8: allowUTF8)
        guard end == input.endIndex else { throw .trailingCharacters }
        return path
    }

    /// Parses `local@domain` without angle brackets, for addresses that come
    /// from configuration or the command line rather than from SMTP.
    public static func parseMailbox(
        _ bytes: some Collection<UInt8>, allowUTF8: Bool = false
    ) throws(MailboxAddressError) -> MailboxAddress {
        let input = Array(bytes)
        guard input.count + 2 <= maxPathLength else { throw .pathTooLong }
        var scanner = PathScanner(input[...], allowUTF8: allowUTF8)
        let mailbox = try scanner.mailbox(allowPostmaster: false)
        guard scanner.isAtEnd else { throw scanner.unexpected(orElse: .trailingCharacters) }
        return mailbox
    }

    /// Scans one path at the start of `bytes` and reports where it ended, so
    /// that MAIL and RCPT can read ESMTP parameters after it. The end cannot
    /// be found by looking for ">" first: a quoted local part may hold one.
    static func scanPath(
        _ bytes: ArraySlice<UInt8>, isReversePath: Bool, allowUTF8: Bool = false
    ) throws(MailboxAddressError) -> (path: ReversePath, end: Int) {
        var scanner = PathScanner(bytes, allowUTF8: allowUTF8)
        guard scanner.take(ASCII.lessThan) else { throw scanner.unexpected(orElse: .missingAngleBrackets) }
        if scanner.take(ASCII.greaterThan) {
            guard isReversePath else { throw .nullPathNotAllowed }
            return (.null, scanner.index)
        }
        if scanner.peek == ASCII.at {
            try scanner.skipSourceRoute()
        }
        let mailbox = try scanner.mailbox(allowPostmaster: !isReversePath)
        guard scanner.take(ASCII.greaterThan) else { throw scanner.unexpected(orElse: .missingAngleBrackets) }
        guard scanner.index - bytes.startIndex <= maxPathLength else { throw .pathTooLong }
        return (.mailbox(mailbox), scanner.index)
    }
}

/// A cursor over the bytes of one path. Each method consumes exactly the
/// production it is named after or throws.
private struct PathScanner {
    let bytes: ArraySlice<UInt8>
    /// RFC 6531 §3.3: `UTF8-non-ascii` in atext, qtextSMTP and sub-domain.
    let allowUTF8: Bool
    var index: Int

    init(_ bytes: ArraySlice<UInt8>, allowUTF8: Bool) {
        self.bytes = bytes
        self.allowUTF8 = allowUTF8
        self.index = bytes.startIndex
    }

    var isAtEnd: Bool { index >= bytes.endIndex }
    var peek: UInt8? { isAtEnd ? nil : bytes[index] }

    mutating func take(_ byte: UInt8) -> Bool {
        guard peek == byte else { return false }
        index += 1
        return true
    }

    /// The error for the byte under the cursor: character-class problems
    /// are reported as such, so a client learns that UTF-8 (not its syntax)
    /// was the reason.
    func unexpected(orElse error: MailboxAddressError) -> MailboxAddressError {
        guard let byte = peek else { return error }
        if byte >= 0x80 { return allowUTF8 ? .invalidUTF8 : .nonASCII }
        if ASCII.isControl(byte) { return .controlCharacter }
        return error
    }

    /// `A-d-l ":"`: the route is checked for syntax and then dropped, as
    /// RFC 5321 §4.1.1.3 says servers should.
    mutating func skipSourceRoute() throws(MailboxAddressError) {
        repeat {
            guard take(ASCII.at) else { throw unexpected(orElse: .invalidSourceRoute) }
            let start = index
            while let byte = peek, ASCII.isAlphanumeric(byte) || byte == ASCII.hyphen || byte == ASCII.dot {
                index += 1
            }
            guard DomainSyntax.isDomain(bytes[start..<index]) else { throw unexpected(orElse: .invalidSourceRoute) }
        } while take(ASCII.comma)
        guard take(ASCII.colon) else { throw unexpected(orElse: .invalidSourceRoute) }
    }

    /// `Local-part "@" ( Domain / address-literal )`, or a bare
    /// "postmaster" when allowed.
    mutating func mailbox(allowPostmaster: Bool) throws(MailboxAddressError) -> MailboxAddress {
        let localStart = index
        if peek == ASCII.quote {
            try skipQuotedString()
        } else {
            try skipDotString()
        }
        let local = bytes[localStart..<index]
        guard local.count <= MailboxAddress.maxLocalPartLength else { throw .localPartTooLong }
        guard take(ASCII.at) else {
            if allowPostmaster && ASCII.equalsIgnoringCase(local, "POSTMASTER") && peek == ASCII.greaterThan {
                return MailboxAddress(localPart: ASCII.string(local), domain: "")
            }
            throw unexpected(orElse: .invalidLocalPart)
        }
        let domainStart = index
        if take(ASCII.leftBracket) {
            // RFC 5321 dcontent: printable except "[", "\" and "]".
            while let byte = peek, ASCII.isPrintable(byte), byte != ASCII.leftBracket, byte != ASCII.backslash,
                byte != ASCII.rightBracket
            {
                index += 1
            }
            guard take(ASCII.rightBracket) else { throw unexpected(orElse: .invalidDomain) }
            guard DomainSyntax.isAddressLiteral(bytes[domainStart..<index]) else { throw .invalidDomain }
        } else {
            while let byte = peek,
                ASCII.isAlphanumeric(byte) || byte == ASCII.hyphen || byte == ASCII.dot || (allowUTF8 && byte >= 0x80)
            {
                index += 1
            }
            let domain = bytes[domainStart..<index]
            guard domain.count <= MailboxAddress.maxDomainLength else { throw .domainTooLong }
            guard UTF8Syntax.isWellFormed(domain) else { throw .invalidUTF8 }
            guard DomainSyntax.isDomain(domain, allowNonASCII: allowUTF8) else {
                throw unexpected(orElse: .invalidDomain)
            }
        }
        return MailboxAddress(localPart: ASCII.string(local), domain: ASCII.string(bytes[domainStart..<index]))
    }

    /// `Atom *("." Atom)`.
    private mutating func skipDotString() throws(MailboxAddressError) {
        repeat {
            let atomStart = index
            while let byte = peek {
                if ASCII.isAtext(byte) {
                    index += 1
                } else if allowUTF8, byte >= 0x80, let length = UTF8Syntax.scalarLength(bytes, at: index) {
                    index += length
                } else {
                    break
                }
            }
            guard index > atomStart else { throw unexpected(orElse: .invalidLocalPart) }
        } while take(ASCII.dot)
    }

    /// `DQUOTE *QcontentSMTP DQUOTE`. An empty quoted string is refused even
    /// though the grammar allows it: an empty local part names no one.
    private mutating func skipQuotedString() throws(MailboxAddressError) {
        let start = index
        index += 1
        while true {
            guard let byte = peek else { throw .invalidLocalPart }
            if byte == ASCII.quote {
                index += 1
                break
            }
            if byte == ASCII.backslash {
                index += 1
                guard let escaped = peek, escaped >= ASCII.space, escaped < ASCII.delete else {
                    throw unexpected(orElse: .invalidLocalPart)
                }
                index += 1
            } else if byte >= ASCII.space && byte < ASCII.delete {
                index += 1
            } else if allowUTF8, byte >= 0x80, let length = UTF8Syntax.scalarLength(bytes, at: index) {
                index += length
            } else {
                throw unexpected(orElse: .invalidLocalPart)
            }
        }
        guard index - start > 2 else { throw .invalidLocalPart }
    }
}
