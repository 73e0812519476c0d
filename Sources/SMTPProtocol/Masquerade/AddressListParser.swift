/// Where a mailbox sits in the bytes of a field body (or of a bare
/// address): what masquerading may change is its domain and nothing else.
struct MailboxSite: Equatable, Sendable {
    enum Domain: Equatable, Sendable {
        /// No `@domain` at all (`bobo`): where `always_add_domain` puts one,
        /// right after the local part's last token.
        case missing(insertAt: Int)
        /// `[192.0.2.1]`: an address, not a name; never masqueraded.
        case literal(Range<Int>)
        /// From the first to the last token (a trailing dot included);
        /// `name` is the tokens without the blanks or folds between them,
        /// at most 256 bytes (longer is no domain anyone configured).
        case name(Range<Int>, name: [UInt8])
        /// A comment between the domain's tokens (obsolete syntax): the
        /// domain cannot be replaced without dropping or moving the
        /// comment, so it is left alone.
        case commented(Range<Int>)
    }

    /// From the local part's first token to its last; whatever lies between
    /// is the local part as written (comments included, in obsolete syntax).
    var localPart: Range<Int>
    var domain: Domain
}

/// Finds the mailboxes in an RFC 5322 §3.4 address list: mailboxes with or
/// without display names, angle addresses with obsolete routes, groups, and
/// the obsolete empty list elements. It reads one token ahead and never
/// goes back, so its work is linear in the input; groups do not nest, so a
/// flag, not recursion, tracks them.
///
/// Lenient where only a display name or a local part is concerned (never
/// rewritten: `john..doe@`), strict everywhere else, so that it never
/// guesses where a domain is: any other deviation throws, and the caller
/// leaves the field as it was.
struct AddressListParser {
    static let maxNameLength = 256

    private let bytes: ArraySlice<UInt8>
    private var lexer: AddressListLexer
    private var current: AddressToken?

    private init(_ bytes: ArraySlice<UInt8>) throws(AddressListError) {
        self.bytes = bytes
        self.lexer = AddressListLexer(bytes)
        self.current = try lexer.next()
    }

    /// The mailboxes of an address list, in order. Indices are those of
    /// `bytes`.
    static func mailboxes(inAddressList bytes: ArraySlice<UInt8>) throws(AddressListError) -> [MailboxSite] {
        var parser = try AddressListParser(bytes)
        return try parser.addressList()
    }

    /// A bare `local@domain` or `local`, with nothing around it (CFWS
    /// aside).
    static func addrSpec(_ bytes: ArraySlice<UInt8>) throws(AddressListError) -> MailboxSite {
        var parser = try AddressListParser(bytes)
        let local = try parser.words()
        let site = try parser.addrSpec(local)
        guard parser.current == nil else { throw parser.unexpected }
        return site
    }

    /// What a local part means, for comparing it with the exposed users:
    /// its words (quoted strings unquoted) and dots, without CFWS.
    static func localPartValue(_ range: Range<Int>, in bytes: ArraySlice<UInt8>) -> [UInt8] {
        var lexer = AddressListLexer(bytes[range])
        var value: [UInt8] = []
        while let token = try? lexer.next() {
            value += AddressListLexer.value(of: token, in: bytes)
        }
        return value
    }

    // MARK: - Grammar

    private var unexpected: AddressListError {
        current.map { .unexpectedToken(at: $0.range.lowerBound) } ?? .unexpectedEnd
    }

    private mutating func advance() throws(AddressListError) {
        current = try lexer.next()
    }

    private mutating func expect(_ kind: AddressToken.Kind) throws(AddressListError) {
        guard current?.kind == kind else { throw unexpected }
        try advance()
    }

    private mutating func addressList() throws(AddressListError) -> [MailboxSite] {
        var sites: [MailboxSite] = []
        var inGroup = false
        // After a mailbox or a group's ";", only a separator may follow.
        var needsSeparator = false
        while let token = current {
            if token.kind == .comma {
                needsSeparator = false
                try advance()
                continue
            }
            if token.kind == .semicolon && inGroup {
                inGroup = false
                needsSeparator = true
                try advance()
                continue
            }
            guard !needsSeparator else { throw unexpected }
            let phrase = try words()
            switch current?.kind {
            case .angleOpen:
                if let site = try angleAddr() { sites.append(site) }
            case .colon:
                guard !inGroup, phrase.range != nil else { throw unexpected }
                inGroup = true
                try advance()
                continue
            case .at, .comma, .semicolon, nil:
                sites.append(try addrSpec(phrase))
            default:
                throw unexpected
            }
            needsSeparator = true
        }
        guard !inGroup else { throw .unexpectedEnd }
        return sites
    }

    /// A run of words and dots: a display name, a group name or a local
    /// part, which only the token after it tells apart.
    private mutating func words() throws(AddressListError) -> WordRun {
        var run = WordRun()
        while let token = current, token.isWord || token.kind == .dot {
            run.add(token)
            try advance()
        }
        return run
    }

    /// `local-part "@" domain`, or a local part alone; `local` has been
    /// read already.
    private mutating func addrSpec(_ local: WordRun) throws(AddressListError) -> MailboxSite {
        guard let localRange = local.range, local.isLocalPart else { throw unexpected }
        guard current?.kind == .at else {
            return MailboxSite(localPart: localRange, domain: .missing(insertAt: localRange.upperBound))
        }
        try advance()
        return MailboxSite(localPart: localRange, domain: try domain())
    }

    /// `"<" [obs-route] addr-spec ">"`, and the `<>` some bounces carry in
    /// From: (no mailbox, nil).
    private mutating func angleAddr() throws(AddressListError) -> MailboxSite? {
        try expect(.angleOpen)
        if current?.kind == .angleClose {
            try advance()
            return nil
        }
        if current?.kind == .at || current?.kind == .comma {
            try skipRoute()
        }
        let site = try addrSpec(try words())
        try expect(.angleClose)
        return site
    }

    /// RFC 5322 §4.4 `obs-route`: `@relay.example,@other.example:`. The
    /// relays are not the mailbox's domain and are not masqueraded.
    private mutating func skipRoute() throws(AddressListError) {
        while let kind = current?.kind, kind == .at || kind == .comma {
            try advance()
            if kind == .at { _ = try domain() }
        }
        try expect(.colon)
    }

    /// `dot-atom / domain-literal / obs-domain`, plus a trailing dot.
    private mutating func domain() throws(AddressListError) -> MailboxSite.Domain {
        guard let first = current else { throw unexpected }
        if first.kind == .domainLiteral {
            try advance()
            return .literal(first.range)
        }
        guard first.kind == .atom else { throw unexpected }
        var name: [UInt8] = []
        var end = first.range.upperBound
        appendCapped(first, to: &name)
        try advance()
        while let dot = current, dot.kind == .dot {
            if name.count < Self.maxNameLength { name.append(ASCII.dot) }
            end = dot.range.upperBound
            try advance()
            guard let label = current, label.kind == .atom else { break }
            appendCapped(label, to: &name)
            end = label.range.upperBound
            try advance()
        }
        let range = first.range.lowerBound..<end
        // Atoms and dots never hold "(", so one here opens a comment.
        if bytes[range].contains(UInt8(ascii: "(")) { return .commented(range) }
        return .name(range, name: name)
    }

    private func appendCapped(_ token: AddressToken, to name: inout [UInt8]) {
        let room = Self.maxNameLength - name.count
        guard room > 0 else { return }
        name += bytes[token.range].prefix(room)
    }
}

/// The words and dots before the token that says what they were.
private struct WordRun {
    private(set) var range: Range<Int>?
    /// `word *("." word)`, leniently: repeated or trailing dots are
    /// accepted (they are common and harmless, since local parts are never
    /// rewritten), two words without a dot between them are not (that is a
    /// display name, and taking it for a local part would guess).
    private(set) var isLocalPart = true
    private var lastWasWord = false

    mutating func add(_ token: AddressToken) {
        if let range {
            self.range = range.lowerBound..<token.range.upperBound
        } else {
            range = token.range
            if !token.isWord { isLocalPart = false }
        }
        if token.isWord && lastWasWord { isLocalPart = false }
        lastWasWord = token.isWord
    }
}
