/// The name of a file in the drop directory: `U<uid>.<32 lowercase hex>`,
/// the uid of the user who wrote it and 16 random bytes. The submit process
/// reads only names that parse, so nothing else a user puts there is taken
/// for a message, and it checks the uid against the file's owner.
///
/// One name for the whole life of the file: readiness is the file's mode
/// (0600 while it is written, 0644 when complete), not a rename, so a user
/// cannot move files into place under someone else's name.
public struct DropFileName: Hashable, Sendable, CustomStringConvertible {
    public let uid: UInt32
    /// 32 lowercase hexadecimal digits.
    public let token: String

    /// - Parameter random: exactly 16 bytes from a secure source.
    public init?(uid: UInt32, random: [UInt8]) {
        guard random.count == 16 else { return nil }
        self.uid = uid
        self.token = Bytes.lowercaseHex(random)
    }

    /// Parses a name strictly: "U", a decimal uid without leading zeros
    /// that fits 32 bits, ".", 32 lowercase hex digits, nothing else.
    public init?(_ name: String) {
        let bytes = Array(name.utf8)
        guard bytes.count >= 35, bytes.count <= 1 + 10 + 1 + 32, bytes.first == UInt8(ascii: "U"),
            let dot = bytes.firstIndex(of: Bytes.dot)
        else { return nil }
        let digits = bytes[1..<dot]
        let token = bytes[(dot + 1)...]
        guard !digits.isEmpty, digits.allSatisfy(Bytes.isDigit), digits.count == 1 || digits.first != 0x30,
            let uid = UInt32(String(decoding: digits, as: UTF8.self)),
            token.count == 32, token.allSatisfy({ Bytes.isDigit($0) || (0x61...0x66).contains($0) })
        else { return nil }
        self.uid = uid
        self.token = String(decoding: token, as: UTF8.self)
    }

    public var description: String { "U\(uid).\(token)" }
}
