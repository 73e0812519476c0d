/// One header field as it was written: its name, and its raw lines with
/// their line endings, so that the section re-renders byte for byte.
public struct HeaderField: Equatable, Sendable {
    /// The name as written (any case), without blanks before the colon.
    public var name: String
    /// The field's lines, the first starting with the name and the rest
    /// with a blank, each with its line ending.
    public var raw: [UInt8]

    public init(name: String, raw: [UInt8]) {
        self.name = name
        self.raw = raw
    }

    /// The lowercased name, for comparisons (field names are
    /// case-insensitive, RFC 5322 §1.2.2).
    public var lowercasedName: String { name.lowercased() }

    /// The value after the colon, unfolded: line endings removed, the
    /// blanks that followed them kept.
    public var unfoldedValue: [UInt8] {
        guard let colon = raw.firstIndex(of: Bytes.colon) else { return [] }
        return raw[(colon + 1)...].filter { $0 != Bytes.cr && $0 != Bytes.lf }
    }
}

/// The header section of a message, parsed into fields.
///
/// The section ends at an empty line or at the first line that is neither
/// a field (`name: value`, the name printable ASCII but ":", blanks
/// allowed before the colon as RFC 5322 §4.5.3's obsolete syntax) nor a
/// continuation (a line starting with a blank, after a field); that line
/// and the rest are body. This is what Sendmail and Postfix do with a
/// submitted message: neither refuses a message for a stray line, both
/// take it as the start of the body (Postfix's cleanup ends the headers at
/// the first non-header line; Sendmail's collect() likewise). A first line
/// that starts with a blank is body. Lines end at LF, with or without a CR.
public struct HeaderSection: Equatable, Sendable {
    public var fields: [HeaderField]
    /// How many bytes of the input the fields took; the body, or the empty
    /// line before it, starts here.
    public var length: Int

    public init(fields: [HeaderField], length: Int) {
        self.fields = fields
        self.length = length
    }

    public init(parsing bytes: some Collection<UInt8>) {
        let bytes = Array(bytes)
        var fields: [HeaderField] = []
        var start = 0
        while start < bytes.count {
            let end = bytes[start...].firstIndex(of: Bytes.lf).map { $0 + 1 } ?? bytes.count
            var content = bytes[start..<end]
            while let last = content.last, last == Bytes.lf || last == Bytes.cr { content.removeLast() }
            if let first = content.first, Bytes.isBlank(first), !fields.isEmpty {
                fields[fields.count - 1].raw.append(contentsOf: bytes[start..<end])
            } else if let name = HeaderSection.fieldName(content) {
                fields.append(HeaderField(name: name, raw: Array(bytes[start..<end])))
            } else {
                break
            }
            start = end
        }
        self.init(fields: fields, length: start)
    }

    /// The fields, as they were written.
    public var rendered: [UInt8] { fields.flatMap(\.raw) }

    /// The header section to write before the body: these fields, then
    /// `added` (lines from `OriginatorFields`, each ending in CR LF) at its
    /// end as Postfix and the listener add them, then the empty line.
    public func assembled(adding added: [[UInt8]] = []) -> [UInt8] {
        rendered + added.joined() + Bytes.crlf
    }

    public func contains(_ name: String) -> Bool {
        let wanted = name.lowercased()
        return fields.contains { $0.lowercasedName == wanted }
    }

    public func fields(named name: String) -> [HeaderField] {
        let wanted = name.lowercased()
        return fields.filter { $0.lowercasedName == wanted }
    }

    /// Without every occurrence of the named fields, continuation lines
    /// included; the rest byte for byte.
    public func removing(_ names: Set<String>) -> HeaderSection {
        let unwanted = Set(names.map { $0.lowercased() })
        let kept = fields.filter { !unwanted.contains($0.lowercasedName) }
        return HeaderSection(fields: kept, length: kept.reduce(0) { $0 + $1.raw.count })
    }

    /// Without Bcc and Resent-Bcc: what -t, and every submission, must not
    /// pass on (RFC 5322 §3.6.3).
    public var removingBlindCopies: HeaderSection { removing(["Bcc", "Resent-Bcc"]) }

    /// The originator fields RFC 5322 §3.6 requires that this section
    /// lacks, in the order they are conventionally added.
    public var missingOriginatorFields: [OriginatorField] {
        OriginatorField.allCases.filter { !contains($0.name) }
    }

    static func isFieldLine(_ line: some Collection<UInt8>) -> Bool { fieldName(line) != nil }

    /// `1*ftext *WSP ":"`: the name, or nil when the line is not a field.
    static func fieldName(_ line: some Collection<UInt8>) -> String? {
        let name = line.prefix { Bytes.isFieldNameByte($0) }
        guard !name.isEmpty else { return nil }
        let rest = line.dropFirst(name.count).drop { Bytes.isBlank($0) }
        guard rest.first == Bytes.colon else { return nil }
        return String(decoding: name, as: UTF8.self)
    }
}

/// The fields a submitted message must have and the command adds when it
/// lacks them. Sender is not among them: RFC 5322 asks for it only when
/// From names several mailboxes, and adding it for a From the user wrote
/// is a policy (Sendmail's X-Authentication-Warning), the caller's call.
public enum OriginatorField: String, CaseIterable, Sendable {
    case from
    case date
    case messageID

    public var name: String {
        switch self {
        case .from: return "From"
        case .date: return "Date"
        case .messageID: return "Message-ID"
        }
    }
}
