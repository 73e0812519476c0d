/// The domain half of a mailbox: a host name (normalized) or an address
/// literal, which the policy must compare as an address, not as text.
enum MailDomain: Equatable, Sendable {
    case name(String)
    case literal(IPAddressValue)
}

/// Why an address could not be taken apart. Policy refuses such an address
/// instead of guessing what it meant: guessing is what the classic relay
/// tricks feed on.
public enum RecipientAddressError: Error, Equatable, Sendable {
    case empty
    case controlCharacter
    case invalidSourceRoute
    case unterminatedQuote
    case invalidLocalPart
    case missingDomain
    case invalidDomain
    case invalidAddressLiteral
}

/// A mailbox taken apart the way the policy needs it: the local part with
/// its quoting undone (so `"u@other"` is seen to contain an `@`), the
/// domain normalized, any source route dropped. Pure string work on the
/// text the SMTP parser already checked; it is still strict, because the
/// same code is fed addresses from other places (tests, the lead's wiring).
struct MailboxParts: Equatable, Sendable {
    /// The local part with quotes and backslash escapes removed.
    var localPart: String
    /// The local part as written (quotes included), for the address that
    /// is handed on when the mailbox is relayed.
    var writtenLocalPart: String
    var wasQuoted: Bool
    /// nil for a bare local part such as `postmaster`.
    var domain: MailDomain?
    /// The domain as written, without a trailing dot; nil without a domain.
    var writtenDomain: String?

    /// The address to relay to: as written, minus the route and the
    /// trailing dot.
    var relayAddress: String {
        guard let writtenDomain else { return writtenLocalPart }
        return writtenLocalPart + "@" + writtenDomain
    }

    init(_ address: String) throws(RecipientAddressError) {
        var text = Substring(address)
        if text.first == "<", text.last == ">", text.count >= 2 { text = text.dropFirst().dropLast() }
        guard !text.isEmpty else { throw .empty }
        guard !text.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f }) else {
            throw .controlCharacter
        }
        if text.first == "@" { text = try Self.droppingSourceRoute(text) }

        var domainText: Substring?
        if text.first == "\"" {
            let (unquoted, end) = try Self.quotedString(text)
            localPart = unquoted
            writtenLocalPart = String(text[..<end])
            wasQuoted = true
            let rest = text[end...]
            if !rest.isEmpty {
                guard rest.first == "@" else { throw .invalidLocalPart }
                domainText = rest.dropFirst()
            }
        } else {
            // The last "@" ends the local part, so `user@remote@local` is
            // read as local part `user@remote` at `local`: the form an old
            // mailer would route onwards, which the caller then sees.
            let local: Substring
            if let at = text.lastIndex(of: "@") {
                local = text[..<at]
                domainText = text[text.index(after: at)...]
            } else {
                local = text
            }
            guard !local.isEmpty, !local.contains(" "), !local.contains("\t") else { throw .invalidLocalPart }
            localPart = String(local)
            writtenLocalPart = localPart
            wasQuoted = false
        }

        guard let domainText else {
            domain = nil
            writtenDomain = nil
            return
        }
        guard !domainText.isEmpty else { throw .missingDomain }
        if domainText.first == "[" {
            guard let address = IPAddressValue(literal: domainText) else { throw .invalidAddressLiteral }
            domain = .literal(address)
            writtenDomain = String(domainText)
        } else {
            guard let name = DomainName.normalize(domainText) else { throw .invalidDomain }
            domain = .name(name)
            writtenDomain = String(domainText.hasSuffix(".") ? domainText.dropLast() : domainText)
        }
    }

    /// Drops an RFC 5321 source route (`@a,@b:`). RFC 5321 §3.6.1 says to
    /// ignore it, and ignoring it is also what keeps it harmless: the route
    /// never decides where the mail goes. Its hops must still look like
    /// domains, so that garbage is refused rather than skipped.
    private static func droppingSourceRoute(_ text: Substring) throws(RecipientAddressError) -> Substring {
        var index = text.startIndex
        var inLiteral = false
        while index < text.endIndex {
            let character = text[index]
            if character == "[" { inLiteral = true }
            if character == "]" { inLiteral = false }
            if character == ":" && !inLiteral { break }
            index = text.index(after: index)
        }
        guard index < text.endIndex else { throw .invalidSourceRoute }
        for hop in text[..<index].split(separator: ",", omittingEmptySubsequences: false) {
            guard hop.first == "@" else { throw .invalidSourceRoute }
            let name = hop.dropFirst()
            guard DomainName.normalize(name) != nil || IPAddressValue(literal: name) != nil else {
                throw .invalidSourceRoute
            }
        }
        let rest = text[text.index(after: index)...]
        guard !rest.isEmpty else { throw .invalidSourceRoute }
        return rest
    }

    /// The content of the quoted string at the start of `text` with escapes
    /// undone, and where the string ended.
    private static func quotedString(
        _ text: Substring
    ) throws(RecipientAddressError) -> (String, Substring.Index) {
        var content = ""
        var index = text.index(after: text.startIndex)
        while index < text.endIndex {
            let character = text[index]
            if character == "\"" {
                guard !content.isEmpty else { throw .invalidLocalPart }
                return (content, text.index(after: index))
            }
            if character == "\\" {
                index = text.index(after: index)
                guard index < text.endIndex else { throw .unterminatedQuote }
            }
            content.append(text[index])
            index = text.index(after: index)
        }
        throw .unterminatedQuote
    }
}
