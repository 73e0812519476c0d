/// Small text helpers for the configuration parser. They work on bytes and
/// Unicode scalars rather than Characters: Swift treats "\r\n" as one
/// Character, and a config parser must see every byte that is there.
enum ConfigText {
    static func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }
    static func isLetter(_ b: UInt8) -> Bool { (b | 0x20) >= 0x61 && (b | 0x20) <= 0x7A }
    static func isHexDigit(_ b: UInt8) -> Bool { isDigit(b) || ((b | 0x20) >= 0x61 && (b | 0x20) <= 0x66) }
    static func isBlank(_ s: Unicode.Scalar) -> Bool { s == " " || s == "\t" }

    /// The text without leading and trailing spaces and tabs.
    static func trimmed(_ text: Substring) -> Substring {
        var scalars = text.unicodeScalars[...]
        while let first = scalars.first, isBlank(first) { scalars.removeFirst() }
        while let last = scalars.last, isBlank(last) { scalars.removeLast() }
        return Substring(scalars)
    }

    /// ASCII-only lower case: option names, flags and host names are ASCII,
    /// and a locale-independent fold cannot map two names onto one.
    static func asciiLowercased(_ text: some StringProtocol) -> String {
        String(decoding: text.utf8.map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 }, as: UTF8.self)
    }

    /// The text in double quotes with control characters, quotes and
    /// backslashes escaped: error messages go to a terminal or a log, and a
    /// hostile or broken file must not be able to write escape sequences or
    /// fake lines there.
    static func quoted(_ text: some StringProtocol) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            case "\n": out += "\\n"
            case "\0": out += "\\0"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F || (scalar.value >= 0x80 && scalar.value < 0xA0) {
                    out += "\\x" + hex2(scalar.value)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    private static func hex2(_ v: UInt32) -> String {
        let digits = Array("0123456789abcdef".unicodeScalars)
        return String(digits[Int((v >> 4) & 0xF)]) + String(digits[Int(v & 0xF)])
    }

    /// True when the text holds a C0 control character (tab excepted), DEL or
    /// a C1 control. Such bytes in a path or a name are a mistake or an attack.
    static func hasControlCharacter(_ text: some StringProtocol) -> Bool {
        text.unicodeScalars.contains { s in
            (s.value < 0x20 && s != "\t") || s.value == 0x7F || (s.value >= 0x80 && s.value < 0xA0)
        }
    }
}

/// Several reasons from one value (two bad domains in one list), each
/// reported as its own error on that line.
struct ConfigValueErrors: Error {
    var all: [ConfigValueError]
}

extension ConfigValueErrors {
    init(_ one: ConfigValueError) { self.init(all: [one]) }
    init(_ reason: String) { self.init(all: [ConfigValueError(reason)]) }
}

/// The parsers for each kind of option value. Each takes the trimmed value
/// text and returns the typed value or a reason; none of them touches the file
/// system (the loader does that, only when asked to).
enum ConfigValue {
    /// RFC 1035 limit on a whole domain name in text form.
    static let maxHostNameLength = 253
    static let maxLabelLength = 63

    /// A host name: letters, digits and hyphens in dot-separated labels of
    /// 1...63 bytes, no label starting or ending with a hyphen, at most 253
    /// bytes; returned in lower case because host names compare that way.
    static func hostName(_ text: String) throws(ConfigValueError) -> String {
        let bytes = Array(text.utf8)
        guard !bytes.isEmpty else { throw ConfigValueError("missing value") }
        guard bytes.count <= maxHostNameLength else {
            throw ConfigValueError("\(ConfigText.quoted(text)) is longer than \(maxHostNameLength) characters")
        }
        let notHost = "\(ConfigText.quoted(text)) is not a host name"
        for b in bytes
        where !(ConfigText.isLetter(b) || ConfigText.isDigit(b) || b == UInt8(ascii: "-") || b == UInt8(ascii: ".")) {
            throw ConfigValueError("\(notHost) (only letters, digits, hyphens and dots)")
        }
        for label in bytes.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false) {
            if label.isEmpty { throw ConfigValueError("\(notHost) (empty label)") }
            if label.count > maxLabelLength {
                throw ConfigValueError("\(notHost) (a label is longer than \(maxLabelLength) characters)")
            }
            if label.first == UInt8(ascii: "-") || label.last == UInt8(ascii: "-") {
                throw ConfigValueError("\(notHost) (a label starts or ends with a hyphen)")
            }
        }
        return ConfigText.asciiLowercased(text)
    }

    /// Domains separated by commas and/or blanks, each a host name, lower
    /// case, duplicates dropped (listing a domain twice is harmless). One
    /// reason per bad domain, so the operator sees them all at once.
    static func domainList(_ text: String) -> Result<[String], ConfigValueErrors> {
        var domains: [String] = []
        var errors: [ConfigValueError] = []
        let items = text.unicodeScalars.split { $0 == "," || ConfigText.isBlank($0) }
        for item in items {
            do throws(ConfigValueError) {
                let domain = try hostName(String(item))
                if !domains.contains(domain) { domains.append(domain) }
            } catch {
                errors.append(error)
            }
        }
        if domains.isEmpty && errors.isEmpty { errors.append(ConfigValueError("missing value")) }
        return errors.isEmpty ? .success(domains) : .failure(ConfigValueErrors(all: errors))
    }

    /// An absolute path, written back with single slashes and no trailing
    /// slash, so that two spellings of a directory compare equal and the
    /// master can join names onto it without doubling slashes.
    static func absolutePath(_ text: String) throws(ConfigValueError) -> String {
        guard text.hasPrefix("/") else { throw ConfigValueError("must be an absolute path") }
        guard !ConfigText.hasControlCharacter(text) else {
            throw ConfigValueError("\(ConfigText.quoted(text)) contains a control character")
        }
        guard text.utf8.count < 4096 else { throw ConfigValueError("path is longer than PATH_MAX") }
        let components = text.utf8.split(separator: UInt8(ascii: "/")).map { String(decoding: $0, as: UTF8.self) }
        return "/" + components.joined(separator: "/")
    }

    /// A file's absolute path: the root directory is none.
    static func filePath(_ text: String) throws(ConfigValueError) -> String {
        let path = try absolutePath(text)
        guard path != "/" else { throw ConfigValueError("must name a file") }
        return path
    }

    /// Bytes, with an optional k, m or g suffix (powers of 1024, as Sendmail
    /// and every operator read them). Zero is refused: Sendmail reads 0 as
    /// "no limit", and the hardened configuration always has one.
    static func size(_ text: String) throws(ConfigValueError) -> Int {
        let notSize = ConfigValueError("\(ConfigText.quoted(text)) is not a size (bytes, or a number with k, m or g)")
        var digits = Array(text.utf8)
        var multiplier = 1
        if let last = digits.last, !ConfigText.isDigit(last) {
            switch last | 0x20 {
            case UInt8(ascii: "k"): multiplier = 1 << 10
            case UInt8(ascii: "m"): multiplier = 1 << 20
            case UInt8(ascii: "g"): multiplier = 1 << 30
            default: throw notSize
            }
            digits.removeLast()
        }
        guard !digits.isEmpty, digits.allSatisfy(ConfigText.isDigit) else { throw notSize }
        guard let number = decimal(digits) else { throw ConfigValueError("\(ConfigText.quoted(text)) is too large") }
        let (bytes, overflow) = number.multipliedReportingOverflow(by: multiplier)
        guard !overflow else { throw ConfigValueError("\(ConfigText.quoted(text)) is too large") }
        guard bytes > 0 else { throw ConfigValueError("must be greater than 0") }
        return bytes
    }

    /// A decimal integer within the option's range.
    /// yes/no, true/false, on/off, 1/0.
    static func boolean(_ text: String) throws(ConfigValueError) -> Bool {
        switch ConfigText.asciiLowercased(text) {
        case "yes", "true", "on", "1": return true
        case "no", "false", "off", "0": return false
        default: throw ConfigValueError("\(ConfigText.quoted(text)) is neither yes nor no")
        }
    }

    static func integer(_ text: String, in range: ClosedRange<Int>) throws(ConfigValueError) -> Int {
        let bytes = Array(text.utf8)
        guard !bytes.isEmpty, bytes.allSatisfy(ConfigText.isDigit) else {
            throw ConfigValueError("\(ConfigText.quoted(text)) is not a whole number")
        }
        guard let value = decimal(bytes), range.contains(value) else {
            throw ConfigValueError("\(text) is out of range (\(range.lowerBound) to \(range.upperBound))")
        }
        return value
    }

    /// Seconds, written as a number with an optional s, m, h or d suffix.
    static func duration(_ text: String, in range: ClosedRange<Int>) throws(ConfigValueError) -> Int {
        let notDuration = ConfigValueError(
            "\(ConfigText.quoted(text)) is not a duration (seconds, or a number with s, m, h or d)")
        var digits = Array(text.utf8)
        var unit = 1
        if let last = digits.last, !ConfigText.isDigit(last) {
            switch last | 0x20 {
            case UInt8(ascii: "s"): unit = 1
            case UInt8(ascii: "m"): unit = 60
            case UInt8(ascii: "h"): unit = 3600
            case UInt8(ascii: "d"): unit = 86400
            default: throw notDuration
            }
            digits.removeLast()
        }
        guard !digits.isEmpty, digits.allSatisfy(ConfigText.isDigit) else { throw notDuration }
        let outOfRange = ConfigValueError(
            "\(text) is out of range (\(renderDuration(range.lowerBound)) to \(renderDuration(range.upperBound)))")
        guard let number = decimal(digits) else { throw outOfRange }
        let (seconds, overflow) = number.multipliedReportingOverflow(by: unit)
        guard !overflow, range.contains(seconds) else { throw outOfRange }
        return seconds
    }

    /// A group name as shadow-utils accepts them: a letter or underscore,
    /// then letters, digits, underscores, dots and hyphens, at most 32.
    static func groupName(_ text: String) throws(ConfigValueError) -> String {
        let bytes = Array(text.utf8)
        let valid =
            !bytes.isEmpty && bytes.count <= 32
            && (ConfigText.isLetter(bytes[0]) || bytes[0] == UInt8(ascii: "_"))
            && bytes.allSatisfy {
                ConfigText.isLetter($0) || ConfigText.isDigit($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".")
                    || $0 == UInt8(ascii: "-")
            }
        guard valid else { throw ConfigValueError("\(ConfigText.quoted(text)) is not a group name") }
        return text
    }

    /// The longest greeting text accepted before expansion. The reply line
    /// (RFC 5321 §4.5.3.1.5) is at most 512 bytes with "220 " and CRLF; the
    /// loader checks the expanded length once MyHostname is known.
    static let maxGreetingLength = 400

    /// Greeting text: no CR, LF or NUL (they would end or split the SMTP
    /// reply), and only the macros `$j` (host name), `$b` (date) and `$$`.
    /// Sendmail's `$v` and `$Z` (version) are refused on purpose: the seeds
    /// tell operators to drop the version from the banner.
    static func greeting(_ text: String) throws(ConfigValueError) -> String {
        guard !text.isEmpty else { throw ConfigValueError("missing value") }
        for s in text.unicodeScalars where s == "\r" || s == "\n" || s == "\0" {
            throw ConfigValueError("must not contain CR, LF or NUL")
        }
        guard !ConfigText.hasControlCharacter(text) else {
            throw ConfigValueError("must not contain control characters")
        }
        guard text.utf8.count <= maxGreetingLength else {
            throw ConfigValueError("longer than \(maxGreetingLength) bytes")
        }
        var scalars = text.unicodeScalars.makeIterator()
        while let s = scalars.next() {
            guard s == "$" else { continue }
            guard let macro = scalars.next() else {
                throw ConfigValueError("ends with a lone \"$\" (write $$ for a dollar sign)")
            }
            guard macro == "j" || macro == "b" || macro == "$" else {
                throw ConfigValueError(
                    "unknown macro \(ConfigText.quoted("$" + String(macro))) (only $j, $b and $$ are expanded)")
            }
        }
        return text
    }

    /// `$j` becomes the host name, `$b` the date, `$$` a dollar sign; the
    /// text was checked by `greeting(_:)`, so nothing else follows a `$`.
    static func expandGreeting(_ text: String, hostName: String, date: String) -> String {
        var out = ""
        var scalars = text.unicodeScalars.makeIterator()
        while let s = scalars.next() {
            guard s == "$" else { out.unicodeScalars.append(s); continue }
            switch scalars.next() {
            case "j": out += hostName
            case "b": out += date
            case "$": out += "$"
            case let other?: out += "$" + String(other)
            case nil: out += "$"
            }
        }
        return out
    }

    /// Comma-separated privacy flags (blanks around the commas allowed, as in
    /// Sendmail), case-insensitive; `public` adds nothing and `goaway` adds
    /// its set. One reason per unknown flag.
    static func privacyOptions(_ text: String) -> Result<Set<PrivacyOption>, ConfigValueErrors> {
        var flags = Set<PrivacyOption>()
        var errors: [ConfigValueError] = []
        var sawAny = false
        for item in text.unicodeScalars.split(separator: ",") {
            let name = ConfigText.trimmed(Substring(item))
            if name.isEmpty { continue }
            sawAny = true
            let lower = ConfigText.asciiLowercased(name)
            if lower == "public" { continue }
            if lower == "goaway" { flags.formUnion(PrivacyOption.goaway); continue }
            guard let flag = PrivacyOption(rawValue: lower) else {
                errors.append(ConfigValueError("unknown flag \(ConfigText.quoted(name))"))
                continue
            }
            flags.insert(flag)
        }
        if !sawAny { errors.append(ConfigValueError("missing value")) }
        for (flag, implied) in PrivacyOption.implied where flags.contains(flag) { flags.formUnion(implied) }
        return errors.isEmpty ? .success(flags) : .failure(ConfigValueErrors(all: errors))
    }

    /// `goaway` when the set holds all of it, then the other flags in
    /// display order; `public` for the empty set.
    static func renderPrivacy(_ flags: Set<PrivacyOption>) -> String {
        var words: [String] = []
        var rest = flags
        if PrivacyOption.goaway.isSubset(of: flags) {
            words.append("goaway")
            rest.subtract(PrivacyOption.goaway)
        }
        words += PrivacyOption.displayOrder.filter(rest.contains).map(\.rawValue)
        return words.isEmpty ? "public" : words.joined(separator: ", ")
    }

    /// The largest unit that divides the size exactly, so `10M` prints as `10M`.
    static func renderSize(_ bytes: Int) -> String {
        for (suffix, unit) in [("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)] where bytes > 0 && bytes % unit == 0 {
            return "\(bytes / unit)\(suffix)"
        }
        return "\(bytes)"
    }

    /// The largest unit that divides the duration exactly.
    static func renderDuration(_ seconds: Int) -> String {
        for (suffix, unit) in [("d", 86400), ("h", 3600), ("m", 60)] where seconds > 0 && seconds % unit == 0 {
            return "\(seconds / unit)\(suffix)"
        }
        return "\(seconds)s"
    }

    /// Decimal digits to an Int; nil on overflow.
    private static func decimal(_ digits: [UInt8]) -> Int? {
        var value = 0
        for d in digits {
            let (times10, o1) = value.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times10.addingReportingOverflow(Int(d - UInt8(ascii: "0")))
            if o1 || o2 { return nil }
            value = sum
        }
        return value
    }
}
