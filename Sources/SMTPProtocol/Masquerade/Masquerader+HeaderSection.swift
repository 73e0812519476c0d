/// Masquerading of a message's header section, for the listener to apply
/// to what `MessageAssembler` holds before it is written.
///
/// Only the sender fields are touched (Sendmail masquerades recipient
/// fields only with `allmasquerade`, which Postern does not have), and in
/// them only the domains of mailboxes: display names, comments, quoted
/// strings, folding and every other byte stay as they were, so that a
/// signature over anything else still verifies and nothing inside a comment
/// or a display name can be mistaken for an address.
///
/// A field body that is not an RFC 5322 address list is left unchanged.
/// That is safe: the message has already been accepted with that field, so
/// leaving it costs at most a host name shown, while guessing at a broken
/// field could turn it into a different, wrong address. The rewriter never
/// makes a header worse: for the same reason, a rewrite that would push a
/// line past RFC 5322's 998 octets (when it was not that long already) is
/// dropped and the field left unchanged.
///
/// The work is linear in the section's size: each field is split, lexed and
/// parsed in one pass each, and edits are applied in one more.
extension Masquerader {
    /// Field names compared without regard to case.
    static let senderFieldNames = ["FROM", "SENDER", "RESENT-FROM", "RESENT-SENDER"]
    /// RFC 5322 §2.1.1, without the CR LF.
    static let maxLineLength = 998

    /// `section` is the whole header section, each line ending in CR LF,
    /// without the empty line that ends it. Returns it with the sender
    /// fields masqueraded; every other field comes back byte for byte.
    public func rewriteHeaderSection(_ section: ArraySlice<UInt8>) -> [UInt8] {
        guard isActive else { return Array(section) }
        var output: [UInt8] = []
        output.reserveCapacity(section.count)
        var fieldStart = section.startIndex
        while fieldStart < section.endIndex {
            var fieldEnd = Self.lineEnd(section, from: fieldStart)
            while fieldEnd < section.endIndex && ASCII.isBlank(section[fieldEnd]) {
                fieldEnd = Self.lineEnd(section, from: fieldEnd)
            }
            let field = section[fieldStart..<fieldEnd]
            output += rewrittenSenderField(field) ?? Array(field)
            fieldStart = fieldEnd
        }
        return output
    }

    public func rewriteHeaderSection(_ section: [UInt8]) -> [UInt8] {
        rewriteHeaderSection(section[...])
    }

    /// The field with its mailboxes masqueraded, or nil to keep it as it
    /// is (not a sender field, not parseable, nothing to change).
    private func rewrittenSenderField(_ field: ArraySlice<UInt8>) -> [UInt8]? {
        let firstLine = field[..<Self.lineEnd(field, from: field.startIndex)]
        guard let colon = firstLine.firstIndex(of: ASCII.colon) else { return nil }
        var name = field[..<colon]
        while let last = name.last, ASCII.isBlank(last) { name.removeLast() }
        guard Self.senderFieldNames.contains(where: { ASCII.equalsIgnoringCase(name, $0) }) else { return nil }

        var bodyEnd = field.endIndex
        if bodyEnd > colon + 1 && field[bodyEnd - 1] == ASCII.lf { bodyEnd -= 1 }
        if bodyEnd > colon + 1 && field[bodyEnd - 1] == ASCII.cr { bodyEnd -= 1 }
        let body = field[(colon + 1)..<bodyEnd]
        guard let sites = try? AddressListParser.mailboxes(inAddressList: body) else { return nil }
        let edits = sites.compactMap { edit(for: $0, in: body) }
        guard !edits.isEmpty else { return nil }

        var rewritten: [UInt8] = []
        rewritten.reserveCapacity(field.count + edits.count * 16)
        var copied = field.startIndex
        for edit in edits {
            rewritten += field[copied..<edit.range.lowerBound]
            rewritten += edit.replacement
            copied = edit.range.upperBound
        }
        rewritten += field[copied...]

        let longest = Self.longestLine(rewritten[...])
        guard longest <= Self.maxLineLength || longest <= Self.longestLine(field) else { return nil }
        return rewritten
    }

    /// The index after the LF ending the line at `start`, or the end.
    private static func lineEnd(_ bytes: ArraySlice<UInt8>, from start: Int) -> Int {
        bytes[start...].firstIndex(of: ASCII.lf).map { $0 + 1 } ?? bytes.endIndex
    }

    /// In octets, without the line ending.
    private static func longestLine(_ bytes: ArraySlice<UInt8>) -> Int {
        var longest = 0
        var length = 0
        for byte in bytes {
            if byte == ASCII.lf {
                longest = max(longest, length)
                length = 0
            } else if byte != ASCII.cr {
                length += 1
            }
        }
        return max(longest, length)
    }
}
