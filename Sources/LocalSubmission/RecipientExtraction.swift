/// An address in a header field that could not be parsed: the caller
/// prints it and exits with `SysExits.dataErr`.
public struct AddressListError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The field's name as written.
    public var field: String
    /// The list element that failed, as written.
    public var address: String
    public var reason: String

    public var description: String { "\(field): malformed address \"\(address)\": \(reason)" }
}

/// -t: the recipients a message names in its header.
public enum RecipientExtraction {
    /// The addresses of To, Cc and Bcc; when any Resent- field is present
    /// (the message is being resent), those of Resent-To, Resent-Cc and
    /// Resent-Bcc instead — Sendmail's rule. In header order, each once:
    /// two addresses are the same when their local parts are equal and
    /// their domains equal ignoring case.
    public static func recipients(in header: HeaderSection) throws(AddressListError) -> [String] {
        let resent = header.fields.contains { $0.lowercasedName.hasPrefix("resent-") }
        let names: Set<String> = resent ? ["resent-to", "resent-cc", "resent-bcc"] : ["to", "cc", "bcc"]
        var result: [String] = []
        var seen: Set<String> = []
        for field in header.fields where names.contains(field.lowercasedName) {
            for address in try addresses(of: field) where seen.insert(comparisonKey(address)).inserted {
                result.append(address)
            }
        }
        return result
    }

    /// One field's address list.
    public static func addresses(of field: HeaderField) throws(AddressListError) -> [String] {
        let value = field.unfoldedValue
        var parser: AddressListParser
        do throws(AddressSyntaxProblem) {
            parser = try AddressListParser(value: value)
        } catch {
            let text = String(decoding: value, as: UTF8.self).trimmingBlanks
            throw AddressListError(field: field.name, address: text, reason: error.reason)
        }
        do throws(AddressSyntaxProblem) {
            return try parser.parse()
        } catch {
            throw AddressListError(
                field: field.name, address: parser.element(around: error.position), reason: error.reason)
        }
    }

    /// The local part as written, the domain lowercased.
    static func comparisonKey(_ address: String) -> String {
        guard let at = AddressQualification.domainSeparator(address) else { return address }
        return address[..<at] + address[at...].lowercased()
    }
}
