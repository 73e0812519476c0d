/// The lines the command adds to a message that lacks them (see
/// `HeaderSection.missingOriginatorFields`), each with its CR LF. Pure:
/// the clock, the time zone and the random token come in as arguments.
public enum OriginatorFields {
    /// The longest display name put in a From: line, in Unicode scalars;
    /// a longer one is cut, so that the line stays under RFC 5322's limit.
    public static let maxDisplayNameLength = 200

    /// `From: Full Name <address>`, or `From: address` without a name.
    /// The name is written as an atom phrase when it can be, as a quoted
    /// string when it has specials, and as RFC 2047 encoded words (UTF-8,
    /// base64) when it is not ASCII; control characters become spaces.
    public static func from(fullName: String?, address: String) -> [UInt8] {
        let name = fullName.map(cleanedDisplayName) ?? ""
        guard !name.isEmpty else { return line("From: \(address)") }
        return line("From: \(DisplayName.encoded(name)) <\(address)>")
    }

    /// `Date: Tue, 8 Dec 2026 00:52:11 +0000` (RFC 5322 §3.3).
    ///
    /// - Parameters:
    ///   - secondsSince1970: the time, UTC.
    ///   - utcOffsetSeconds: the local zone's offset east of UTC.
    public static func date(secondsSince1970: Int64, utcOffsetSeconds: Int) -> [UInt8] {
        line("Date: \(RFC5322Date.format(secondsSince1970: secondsSince1970, utcOffsetSeconds: utcOffsetSeconds))")
    }

    /// `Message-ID: <20261208005211.<hex of random>@host>`: the UTC time
    /// for the reader, the random bytes (16 or more) for uniqueness.
    public static func messageID(random: [UInt8], secondsSince1970: Int64, host: String) -> [UInt8] {
        let civil = RFC5322Date.Civil(secondsSince1970: secondsSince1970)
        let stamp =
            civil.paddedYear
            + [civil.month, civil.day, civil.hour, civil.minute, civil.second].map(twoDigits).joined()
        return line("Message-ID: <\(stamp).\(Bytes.lowercaseHex(random))@\(host)>")
    }

    /// The full name in a passwd GECOS field: the part before the first
    /// comma, each "&" replaced by the login with its first letter
    /// capitalised (the BSD convention). Nil when that is empty.
    public static func fullName(gecos: String, login: String) -> String? {
        let first = gecos.split(separator: ",", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        let capitalised = login.prefix(1).uppercased() + login.dropFirst()
        let name = first.replacingAmpersands(with: capitalised).trimmingBlanks
        return name.isEmpty ? nil : name
    }

    static func cleanedDisplayName(_ name: String) -> String {
        let scalars = name.unicodeScalars.prefix(maxDisplayNameLength).map { scalar -> Unicode.Scalar in
            scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) ? " " : scalar
        }
        return String(String.UnicodeScalarView(scalars)).trimmingBlanks
    }

    static func twoDigits(_ value: Int) -> String { value < 10 ? "0\(value)" : String(value) }

    private static func line(_ text: String) -> [UInt8] { Array(text.utf8) + Bytes.crlf }
}

extension Substring {
    fileprivate func replacingAmpersands(with replacement: String) -> String {
        split(separator: "&", omittingEmptySubsequences: false).joined(separator: replacement)
    }
}

/// A display name in the form a header needs (RFC 5322 §3.2.5, RFC 2047).
enum DisplayName {
    static func encoded(_ name: String) -> String {
        if !name.unicodeScalars.allSatisfy(\.isASCII) { return encodedWords(name) }
        let isPhrase = name.utf8.allSatisfy { $0 == Bytes.space || AddressTokenizer.isAtomByte($0) }
        if isPhrase && !name.contains("=?") && !name.contains("  ") { return name }
        var quoted = "\""
        for character in name.unicodeScalars {
            if character == "\"" || character == "\\" { quoted.append("\\") }
            quoted.unicodeScalars.append(character)
        }
        return quoted + "\""
    }

    /// `=?UTF-8?B?…?=` words of at most 75 characters (45 bytes of text
    /// each), never splitting a character, folded one to a line.
    static func encodedWords(_ name: String) -> String {
        var words: [String] = []
        var chunk: [UInt8] = []
        for scalar in name.unicodeScalars {
            let bytes = Array(String(scalar).utf8)
            if chunk.count + bytes.count > 45 {
                words.append("=?UTF-8?B?\(Base64.encode(chunk))?=")
                chunk = []
            }
            chunk += bytes
        }
        if !chunk.isEmpty { words.append("=?UTF-8?B?\(Base64.encode(chunk))?=") }
        return words.joined(separator: "\r\n ")
    }
}

/// RFC 4648 base64, for encoded words.
enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        var index = 0
        while index < bytes.count {
            let count = min(3, bytes.count - index)
            let b0 = UInt32(bytes[index])
            let b1 = count > 1 ? UInt32(bytes[index + 1]) : 0
            let b2 = count > 2 ? UInt32(bytes[index + 2]) : 0
            let triple = b0 << 16 | b1 << 8 | b2
            for position in 0..<4 {
                if position <= count {
                    out.append(alphabet[Int((triple >> UInt32(18 - 6 * position)) & 0x3F)])
                } else {
                    out.append(UInt8(ascii: "="))
                }
            }
            index += 3
        }
        return String(decoding: out, as: UTF8.self)
    }
}
