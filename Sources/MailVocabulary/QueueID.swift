/// A queue id: 12 characters of Crockford base32 (60 bits), random rather
/// than clock-derived, so a clock that goes backwards or a restart cannot
/// repeat one; the spool creates files with O_EXCL and draws again on the
/// rare collision.
public struct QueueID: Hashable, Sendable, CustomStringConvertible, Comparable {
    public static let length = 12
    static let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ".utf8)

    public let value: String
    public var description: String { value }

    public init?(_ text: String) {
        let bytes = Array(text.utf8)
        guard bytes.count == QueueID.length, bytes.allSatisfy({ QueueID.alphabet.contains($0) }) else {
            return nil
        }
        value = text
    }

    public static func generate() -> QueueID {
        var rng = SystemRandomNumberGenerator()
        var bits = rng.next() as UInt64
        var chars = [UInt8]()
        chars.reserveCapacity(length)
        for _ in 0..<length {
            chars.append(alphabet[Int(bits & 31)])
            bits >>= 5
        }
        // Safe: every byte comes from the ASCII alphabet.
        return QueueID(unchecked: String(decoding: chars, as: UTF8.self))
    }

    private init(unchecked: String) { value = unchecked }

    public static func < (a: QueueID, b: QueueID) -> Bool { a.value < b.value }
}
