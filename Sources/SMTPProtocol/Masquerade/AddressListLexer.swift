/// Why a field body is not an RFC 5322 address list. Nobody is told: the
/// header rewriter leaves such a field as it is. The cases exist so that
/// tests can tell the failures apart.
enum AddressListError: Error, Equatable, Sendable {
    case unterminatedComment
    case unterminatedQuotedString
    case unterminatedDomainLiteral
    /// A CR or LF that is not part of CR LF WSP, or a quoted-pair escaping
    /// a line break.
    case badLineBreak(at: Int)
    case unexpectedCharacter(at: Int)
    case unexpectedToken(at: Int)
    case unexpectedEnd
}

/// One lexical token of an RFC 5322 §3.4 address list. Comments and folding
/// white space (CFWS) are not tokens: they are skipped, never interpreted,
/// which is why nothing inside a comment can ever be taken for an address.
struct AddressToken: Equatable, Sendable {
    enum Kind: Equatable, Sendable {
        /// A run of `atext`; bytes of 0x80 and above count as atext
        /// (RFC 6532), since rejecting them would only leave more fields
        /// unmasqueraded.
        case atom
        /// With its quotes.
        case quotedString
        /// `[...]`, with its brackets.
        case domainLiteral
        case angleOpen, angleClose, at, comma, colon, semicolon, dot
    }

    var kind: Kind
    /// Indices into the lexed bytes.
    var range: Range<Int>

    /// RFC 5322 `word`.
    var isWord: Bool { kind == .atom || kind == .quotedString }
}

/// Splits a field body into `AddressToken`s in one pass. Nested comments
/// are tracked with a depth counter, not recursion, so hostile nesting
/// costs a loop iteration per byte and no stack.
struct AddressListLexer {
    private static let leftParenthesis: UInt8 = 0x28
    private static let rightParenthesis: UInt8 = 0x29

    private let bytes: ArraySlice<UInt8>
    private var index: Int

    init(_ bytes: ArraySlice<UInt8>) {
        self.bytes = bytes
        self.index = bytes.startIndex
    }

    /// The next token, or nil at the end of the body.
    mutating func next() throws(AddressListError) -> AddressToken? {
        try skipCFWS()
        guard index < bytes.endIndex else { return nil }
        let start = index
        let kind: AddressToken.Kind
        switch bytes[index] {
        case ASCII.quote:
            try skipEnclosed(.quotedString)
            kind = .quotedString
        case ASCII.leftBracket:
            try skipEnclosed(.domainLiteral)
            kind = .domainLiteral
        case ASCII.lessThan: kind = .angleOpen
        case ASCII.greaterThan: kind = .angleClose
        case ASCII.at: kind = .at
        case ASCII.comma: kind = .comma
        case ASCII.colon: kind = .colon
        case ASCII.semicolon: kind = .semicolon
        case ASCII.dot: kind = .dot
        case let byte where Self.isAtomByte(byte):
            while index < bytes.endIndex && Self.isAtomByte(bytes[index]) { index += 1 }
            return AddressToken(kind: .atom, range: start..<index)
        default:
            throw .unexpectedCharacter(at: index)
        }
        if index == start { index += 1 }
        return AddressToken(kind: kind, range: start..<index)
    }

    static func isAtomByte(_ byte: UInt8) -> Bool {
        ASCII.isAtext(byte) || byte >= 0x80
    }

    /// What a word means: an atom as is, a quoted string without its quotes,
    /// backslashes and folding line breaks (RFC 5322 §3.2.4). Used to
    /// compare a local part with the exposed users.
    static func value(of token: AddressToken, in bytes: ArraySlice<UInt8>) -> [UInt8] {
        guard token.kind == .quotedString, token.range.count >= 2 else { return Array(bytes[token.range]) }
        var value: [UInt8] = []
        var index = token.range.lowerBound + 1
        let end = token.range.upperBound - 1
        while index < end {
            let byte = bytes[index]
            if byte == ASCII.backslash && index + 1 < end {
                value.append(bytes[index + 1])
                index += 2
            } else {
                if byte != ASCII.cr && byte != ASCII.lf { value.append(byte) }
                index += 1
            }
        }
        return value
    }

    // MARK: - Skipping

    private mutating func skipCFWS() throws(AddressListError) {
        while index < bytes.endIndex {
            let byte = bytes[index]
            if ASCII.isBlank(byte) {
                index += 1
            } else if byte == ASCII.cr || byte == ASCII.lf {
                try skipLineBreak()
            } else if byte == Self.leftParenthesis {
                try skipEnclosed(.comment)
            } else {
                return
            }
        }
    }

    /// Only CR LF followed by a blank (a fold) may appear inside a field.
    private mutating func skipLineBreak() throws(AddressListError) {
        guard bytes[index] == ASCII.cr, index + 2 < bytes.endIndex, bytes[index + 1] == ASCII.lf,
            ASCII.isBlank(bytes[index + 2])
        else { throw .badLineBreak(at: index) }
        index += 3
    }

    private enum Enclosure {
        case comment, quotedString, domainLiteral

        var close: UInt8 {
            switch self {
            case .comment: return AddressListLexer.rightParenthesis
            case .quotedString: return ASCII.quote
            case .domainLiteral: return ASCII.rightBracket
            }
        }

        var unterminated: AddressListError {
            switch self {
            case .comment: return .unterminatedComment
            case .quotedString: return .unterminatedQuotedString
            case .domainLiteral: return .unterminatedDomainLiteral
            }
        }
    }

    /// Skips a comment, quoted string or domain literal, from its opening
    /// byte to its closing one, honouring quoted-pairs and folds.
    private mutating func skipEnclosed(_ enclosure: Enclosure) throws(AddressListError) {
        var depth = 1
        index += 1
        while index < bytes.endIndex {
            let byte = bytes[index]
            if byte == enclosure.close {
                index += 1
                depth -= 1
                if depth == 0 { return }
            } else if byte == ASCII.backslash {
                guard index + 1 < bytes.endIndex else { break }
                let escaped = bytes[index + 1]
                guard escaped != ASCII.cr && escaped != ASCII.lf else { throw .badLineBreak(at: index + 1) }
                index += 2
            } else if byte == ASCII.cr || byte == ASCII.lf {
                try skipLineBreak()
            } else if enclosure == .comment && byte == Self.leftParenthesis {
                depth += 1
                index += 1
            } else if enclosure == .domainLiteral && byte == ASCII.leftBracket {
                throw .unexpectedCharacter(at: index)
            } else {
                index += 1
            }
        }
        throw enclosure.unterminated
    }
}
