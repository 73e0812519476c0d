/// The right-hand side of a virtusertable line: a local user, an address,
/// or an error, where user and address may carry Sendmail's `%1` (the
/// recipient's user part without any `+detail`), `%2` (the detail) and
/// `%3` (`+detail`, or nothing).
enum VirtusertableTarget: Equatable, Sendable {
    case local(VirtualTemplate)
    case address(VirtualTemplate)
    case error(VirtualErrorReply)

    /// Parses a value. Everything that is not a single plain user or
    /// address is refused on its line: a list (that is the aliases file's
    /// job), a program, file or `:include:` target, a bang path, a source
    /// route, and any `%` that is not `%1`–`%3` (the percent hack).
    static func parse(_ value: Substring) throws(VirtualMapError) -> VirtusertableTarget {
        let written = String(value.prefix(256))
        if value.count >= 6, value.prefix(6).lowercased() == "error:" {
            return .error(try VirtualErrorReply.parse(value.dropFirst(6)))
        }
        guard !value.contains(where: { $0 == " " || $0 == "\t" || $0 == "," }) else {
            throw .notASingleAddress(written)
        }
        let unquoted = value.first == "\"" ? value.dropFirst() : value
        guard unquoted.first != "|", unquoted.first != "/", !unquoted.lowercased().hasPrefix(":include:") else {
            throw .deliveryTargetNotAllowed(written)
        }
        guard !value.contains("!") else { throw .bangPath(written) }
        let template = try VirtualTemplate(value)
        let sample = template.render(user: "user", detail: "detail")
        if value.contains("@") {
            guard VirtualAddressCheck.isPlainRemoteAddress(sample) else { throw .invalidAddress(written) }
            return .address(template)
        }
        guard VirtualLocalUser.isValid(sample) else { throw .invalidLocalUser(written) }
        return .local(template)
    }
}

/// A value with `%1`, `%2`, `%3` holes, split once at load time.
struct VirtualTemplate: Equatable, Sendable {
    enum Piece: Equatable, Sendable {
        case text(String)
        case user
        case detail
        case plusDetail
    }

    var pieces: [Piece]

    init(_ value: Substring) throws(VirtualMapError) {
        var pieces: [Piece] = []
        var literal = ""
        var index = value.startIndex
        while index < value.endIndex {
            let character = value[index]
            index = value.index(after: index)
            guard character == "%" else {
                literal.append(character)
                continue
            }
            guard index < value.endIndex else { throw .invalidPercentSequence(String(value.prefix(256))) }
            let hole: Piece
            switch value[index] {
            case "1": hole = .user
            case "2": hole = .detail
            case "3": hole = .plusDetail
            default: throw .invalidPercentSequence(String(value.prefix(256)))
            }
            index = value.index(after: index)
            if !literal.isEmpty { pieces.append(.text(literal)) }
            literal = ""
            pieces.append(hole)
        }
        if !literal.isEmpty { pieces.append(.text(literal)) }
        self.pieces = pieces
    }

    func render(user: String, detail: String) -> String {
        var result = ""
        for piece in pieces {
            switch piece {
            case .text(let text): result += text
            case .user: result += user
            case .detail: result += detail
            case .plusDetail: result += detail.isEmpty ? "" : "+" + detail
            }
        }
        return result
    }
}

/// The address check for a virtusertable target, at load time on the
/// template and at lookup on the result: a mailbox at a host name or an
/// address literal, whose local part (quotes undone) holds no `@`, `%` or
/// `!`, and no source route. Anything else is one of the routing tricks
/// the README's relay rules exist to stop, and a catch-all with `%1` must
/// not let a recipient write one into the address it is forwarded to.
enum VirtualAddressCheck {
    static func isPlainRemoteAddress(_ address: String) -> Bool {
        guard address.first != "@", address.first != "<", let parts = try? MailboxParts(address),
            parts.domain != nil
        else { return false }
        return !parts.localPart.contains(where: { $0 == "@" || $0 == "%" || $0 == "!" })
    }
}
