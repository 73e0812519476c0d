/// DNS blocklists (RFC 5782): is this client address listed in a zone.
public enum DNSBL {
    /// The reason text goes into an SMTP reply; a list's TXT can be long.
    static let maximumTextLength = 256

    /// The query name for a client address in a DNSBL zone: 1.2.3.4 +
    /// zen.example → 4.3.2.1.zen.example; IPv6 in nibble format; an
    /// IPv4-mapped IPv6 address as its IPv4 address. Nil when the address
    /// is not an IP literal or the result is not a valid name.
    public static func queryName(ip: String, zone: String) -> String? {
        guard let reversed = IPAddressText.reversedLabels(ip), !zone.isEmpty else { return nil }
        return try? DNSName.canonical(reversed.labels + "." + zone)
    }

    public enum Result: Equatable, Sendable {
        /// `codes` are the 127.x.y.z answers as text; `text` the list's TXT
        /// reason, when it gave one.
        case listed(codes: [String], text: String?)
        case notListed
    }

    /// A lookup, then a TXT lookup for the reason when listed. Only answers
    /// in 127.0.0.0/8 count as listed (RFC 5782); NXDOMAIN = not listed;
    /// errors throw (the caller decides to fail open). A failed TXT lookup
    /// leaves the text out but keeps the listing.
    ///
    /// Answers in 127.255.255.0/24 are how lists (Spamhaus first) say "I
    /// will not answer you" (public resolver, over quota, bad zone name).
    /// Reading them as listings would reject every client, so when nothing
    /// else came back they throw `.serverFailure(rcode: 5)`, REFUSED.
    public static func check(ip: String, zone: String, resolver: DNSResolver) throws(DNSError) -> Result {
        guard let name = queryName(ip: ip, zone: zone) else {
            throw .badName(DNSName.escapedForLog(ip) + " in " + DNSName.escapedForLog(zone))
        }
        let answers: [DNSRecordData]
        do {
            answers = try resolver.records(name, .a)
        } catch {
            if error == .nameError { return .notListed }
            throw error
        }
        var codes: [String] = []
        var refused = false
        for case .a(let bytes) in answers where bytes.count == 4 && bytes[0] == 127 {
            if bytes[1] == 255, bytes[2] == 255 {
                refused = true
                continue
            }
            if let code = IPAddressText.text(bytes), !codes.contains(code) { codes.append(code) }
        }
        if codes.isEmpty {
            if refused { throw .serverFailure(rcode: 5) }
            return .notListed
        }
        let reasons = (try? resolver.txt(name)) ?? []
        return .listed(codes: codes, text: reasons.isEmpty ? nil : shortened(reasons.joined(separator: " ")))
    }

    /// Cuts long text at a character boundary without leaving half of a
    /// `\DDD` escape at the end.
    static func shortened(_ text: String) -> String {
        guard text.count > maximumTextLength else { return text }
        var cut = Array(text.prefix(maximumTextLength))
        if let slash = cut.suffix(3).lastIndex(of: "\\") { cut.removeSubrange(slash...) }
        return String(cut)
    }
}
