/// One lexical token of an RFC 5322 structured field value. Comments and
/// blanks are dropped by the tokenizer; `range` points into the value for
/// error messages.
struct AddressToken: Equatable {
    enum Kind: Equatable {
        /// atext, leniently: any byte above space that is not a special,
        /// so UTF-8 (RFC 6532) and the odd stray character pass.
        case atom
        /// The raw bytes, quotes and backslashes included.
        case quotedString
        /// `[...]`, raw.
        case domainLiteral
        /// One of `< > @ , ; : .`
        case special(UInt8)
    }

    var kind: Kind
    var bytes: ArraySlice<UInt8>
    var range: Range<Int>
}

/// The problem found in one address of a list.
struct AddressSyntaxProblem: Error, Equatable {
    var reason: String
    /// Where in the value the problem was found.
    var position: Int
}

/// RFC 5322 §3.2's lexical layer: atoms, quoted strings, domain literals,
/// specials; comments (nested, with quoted pairs) and blanks skipped.
enum AddressTokenizer {
    static func tokens(_ value: [UInt8]) throws(AddressSyntaxProblem) -> [AddressToken] {
        var tokens: [AddressToken] = []
        var index = 0
        while index < value.count {
            let byte = value[index]
            let start = index
            switch byte {
            case Bytes.space, Bytes.tab:
                index += 1
            case Bytes.leftParen:
                index = try skipComment(value, from: index)
            case Bytes.quote:
                index = try endOfQuoted(value, from: index, closing: Bytes.quote)
                tokens.append(AddressToken(kind: .quotedString, bytes: value[start..<index], range: start..<index))
            case Bytes.leftBracket:
                index = try endOfQuoted(value, from: index, closing: Bytes.rightBracket)
                tokens.append(AddressToken(kind: .domainLiteral, bytes: value[start..<index], range: start..<index))
            case Bytes.lessThan, Bytes.greaterThan, Bytes.at, Bytes.comma, Bytes.semicolon, Bytes.colon, Bytes.dot:
                index += 1
                tokens.append(AddressToken(kind: .special(byte), bytes: value[start..<index], range: start..<index))
            default:
                while index < value.count, isAtomByte(value[index]) { index += 1 }
                guard index > start else {
                    throw AddressSyntaxProblem(reason: "unexpected character", position: start)
                }
                tokens.append(AddressToken(kind: .atom, bytes: value[start..<index], range: start..<index))
            }
        }
        return tokens
    }

    static func isAtomByte(_ byte: UInt8) -> Bool {
        guard byte > Bytes.space, byte != Bytes.delete else { return false }
        switch byte {
        case Bytes.leftParen, Bytes.rightParen, Bytes.lessThan, Bytes.greaterThan, Bytes.leftBracket,
            Bytes.rightBracket, Bytes.colon, Bytes.semicolon, Bytes.at, Bytes.backslash, Bytes.comma, Bytes.dot,
            Bytes.quote:
            return false
        default:
            return true
        }
    }

    /// Past the closing `"` or `]`; a backslash quotes the next byte.
    private static func endOfQuoted(
        _ value: [UInt8], from start: Int, closing: UInt8
    ) throws(AddressSyntaxProblem) -> Int {
        var index = start + 1
        while index < value.count {
            switch value[index] {
            case Bytes.backslash: index += 2
            case closing: return index + 1
            case let byte where Bytes.isControl(byte) && byte != Bytes.tab:
                throw AddressSyntaxProblem(reason: "control character", position: index)
            default: index += 1
            }
        }
        throw AddressSyntaxProblem(
            reason: closing == Bytes.quote ? "unterminated quoted string" : "unterminated [", position: start)
    }

    /// Past the comment's closing parenthesis, nested ones included.
    private static func skipComment(_ value: [UInt8], from start: Int) throws(AddressSyntaxProblem) -> Int {
        var depth = 0
        var index = start
        while index < value.count {
            switch value[index] {
            case Bytes.backslash: index += 1
            case Bytes.leftParen: depth += 1
            case Bytes.rightParen:
                depth -= 1
                if depth == 0 { return index + 1 }
            default: break
            }
            index += 1
        }
        throw AddressSyntaxProblem(reason: "unterminated comment", position: start)
    }
}
