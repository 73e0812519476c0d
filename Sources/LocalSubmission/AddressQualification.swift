/// Bare local parts (`root`, from a command line or a header) made into
/// addresses of this host, as Sendmail qualifies them with $j.
public enum AddressQualification {
    /// `root` becomes `root@domain` and `<root>` becomes `<root@domain>`;
    /// the null address ("" or `<>`) and an address that has a domain are
    /// returned unchanged. An "@" inside a quoted local part does not count.
    public static func qualify(_ address: String, domain: String) -> String {
        if address.isEmpty || address == "<>" { return address }
        if address.hasPrefix("<") && address.hasSuffix(">") && address.count >= 2 {
            return "<\(qualify(String(address.dropFirst().dropLast()), domain: domain))>"
        }
        if domainSeparator(address) != nil { return address }
        return "\(address)@\(domain)"
    }

    /// The index of the "@" that separates the local part from the domain:
    /// the last one outside quotes. Nil for a bare local part.
    static func domainSeparator(_ address: String) -> String.Index? {
        var inQuotes = false
        var escaped = false
        var separator: String.Index?
        for index in address.indices {
            let character = address[index]
            if escaped {
                escaped = false
            } else if character == "\\" && inQuotes {
                escaped = true
            } else if character == "\"" {
                inQuotes.toggle()
            } else if character == "@" && !inQuotes {
                separator = index
            }
        }
        return separator
    }
}
