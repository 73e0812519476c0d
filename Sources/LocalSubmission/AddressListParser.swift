/// RFC 5322 §3.4's address-list, as senders really write it: display
/// names, quoted strings, comments, angle addresses, groups (whose members
/// count; `undisclosed-recipients:;` has none, and a missing final ";" is
/// forgiven), the obsolete route (`<@a,@b:u@c>`, route dropped), empty
/// list elements (`a@x,,b@y`), and a bare local part (`root`) that the
/// caller qualifies. A local part keeps its quotes and escapes as written.
/// Consecutive dots in a local part are tolerated, as some carriers issue
/// such addresses; a domain must be dot-separated atoms or a literal.
struct AddressListParser {
    let value: [UInt8]
    let tokens: [AddressToken]
    var index = 0
    var addresses: [String] = []

    init(value: [UInt8]) throws(AddressSyntaxProblem) {
        self.value = value
        self.tokens = try AddressTokenizer.tokens(value)
    }

    /// The addresses of the list, in order (duplicates not removed here).
    mutating func parse() throws(AddressSyntaxProblem) -> [String] {
        while index < tokens.count {
            if isSpecial(Bytes.comma) {
                index += 1
                continue
            }
            try address(allowGroup: true)
            guard index == tokens.count || isSpecial(Bytes.comma) else { throw problem("expected \",\"") }
        }
        return addresses
    }

    /// The raw text of the list element around a token: from the element's
    /// start to the next comma outside angle brackets.
    func element(around position: Int) -> String {
        var start = 0
        var end = value.count
        for token in tokens where token.kind == .special(Bytes.comma) {
            if token.range.lowerBound < position {
                start = token.range.upperBound
            } else {
                end = token.range.lowerBound
                break
            }
        }
        return String(decoding: value[start..<max(start, end)], as: UTF8.self).trimmingBlanks
    }

    private mutating func address(allowGroup: Bool) throws(AddressSyntaxProblem) {
        let words = self.words()
        switch current?.kind {
        case .special(Bytes.colon) where allowGroup:
            guard !words.isEmpty else { throw problem("group without a name") }
            index += 1
            try groupMembers()
        case .special(Bytes.lessThan):
            index += 1
            try angleAddress()
        case .special(Bytes.at):
            let local = try localPart(words)
            index += 1
            addresses.append("\(local)@\(try domain())")
        case nil, .special(Bytes.comma), .special(Bytes.semicolon):
            addresses.append(try localPart(words))
        default:
            throw problem("unexpected \(currentText)")
        }
    }

    /// After the group's ":", up to and including its ";".
    private mutating func groupMembers() throws(AddressSyntaxProblem) {
        while index < tokens.count {
            if isSpecial(Bytes.semicolon) {
                index += 1
                return
            }
            if isSpecial(Bytes.comma) {
                index += 1
                continue
            }
            try address(allowGroup: false)
            guard index == tokens.count || isSpecial(Bytes.comma) || isSpecial(Bytes.semicolon) else {
                throw problem("expected \",\" or \";\"")
            }
        }
    }

    /// After "<", up to and including ">".
    private mutating func angleAddress() throws(AddressSyntaxProblem) {
        if isSpecial(Bytes.greaterThan) { throw problem("empty address <>") }
        if isSpecial(Bytes.at) { try skipRoute() }
        let local = try localPart(words())
        var address = local
        if isSpecial(Bytes.at) {
            index += 1
            address += "@\(try domain())"
        }
        guard isSpecial(Bytes.greaterThan) else { throw problem("expected \">\"") }
        index += 1
        addresses.append(address)
    }

    /// RFC 5322 §4.4 obs-route: `@a,@b:` before the address; dropped.
    private mutating func skipRoute() throws(AddressSyntaxProblem) {
        while true {
            guard isSpecial(Bytes.at) else { throw problem("malformed route") }
            index += 1
            _ = try domain()
            while isSpecial(Bytes.comma) { index += 1 }
            if isSpecial(Bytes.colon) {
                index += 1
                return
            }
        }
    }

    /// Atoms, quoted strings and dots, as a phrase or a local part is made of.
    private mutating func words() -> [AddressToken] {
        var words: [AddressToken] = []
        while let token = current {
            switch token.kind {
            case .atom, .quotedString, .special(Bytes.dot): words.append(token)
            default: return words
            }
            index += 1
        }
        return words
    }

    private func localPart(_ words: [AddressToken]) throws(AddressSyntaxProblem) -> String {
        var previousWasWord = false
        var sawWord = false
        for word in words {
            let isWord = word.kind != .special(Bytes.dot)
            if isWord && previousWasWord {
                throw AddressSyntaxProblem(
                    reason: "words without a dot or angle brackets", position: word.range.lowerBound)
            }
            previousWasWord = isWord
            sawWord = sawWord || isWord
        }
        guard sawWord else { throw problem("missing local part") }
        return String(decoding: words.flatMap(\.bytes), as: UTF8.self)
    }

    /// `atom *("." atom)` or a domain literal.
    private mutating func domain() throws(AddressSyntaxProblem) -> String {
        if let token = current, token.kind == .domainLiteral {
            index += 1
            return String(decoding: token.bytes, as: UTF8.self)
        }
        var labels: [String] = []
        repeat {
            guard let token = current, token.kind == .atom else { throw problem("malformed domain") }
            labels.append(String(decoding: token.bytes, as: UTF8.self))
            index += 1
            guard isSpecial(Bytes.dot) else { break }
            index += 1
        } while true
        return labels.joined(separator: ".")
    }

    private var current: AddressToken? { index < tokens.count ? tokens[index] : nil }

    private var currentText: String {
        current.map { "\"\(String(decoding: $0.bytes, as: UTF8.self))\"" } ?? "end"
    }

    private func isSpecial(_ byte: UInt8) -> Bool { current?.kind == .special(byte) }

    private func problem(_ reason: String) -> AddressSyntaxProblem {
        AddressSyntaxProblem(reason: reason, position: current?.range.lowerBound ?? value.count)
    }
}
