import PosternCore

/// Errors a frame's payload can have. Any of them is a protocol violation by
/// the sender: the receiver logs it and drops that peer connection.
public enum IPCDecodeError: Error, Equatable, Sendable {
    case truncated
    case trailingBytes(Int)
    case badField(String)
    case countTooLarge(field: String, count: Int)
    case unknownType(UInt16)
    case unsupportedVersion(UInt8)
    case lengthMismatch(declared: Int, actual: Int)
    case frameTooLarge(Int)
    case unexpectedDescriptors(expected: Int, got: Int)
    case unexpectedResponse
    /// A kind of message that does not travel from this peer to us.
    case notOnThisEdge(UInt16)
}

/// Appends typed values in network byte order; strings are length-prefixed.
public struct ByteWriter {
    public private(set) var bytes: [UInt8] = []

    public init(capacity: Int = 128) { bytes.reserveCapacity(capacity) }

    public mutating func u8(_ v: UInt8) { bytes.append(v) }
    public mutating func u16(_ v: UInt16) {
        bytes.append(UInt8(v >> 8))
        bytes.append(UInt8(v & 0xFF))
    }
    public mutating func u32(_ v: UInt32) {
        for shift in stride(from: 24, through: 0, by: -8) { bytes.append(UInt8((v >> UInt32(shift)) & 0xFF)) }
    }
    public mutating func u64(_ v: UInt64) {
        for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8((v >> UInt64(shift)) & 0xFF)) }
    }
    public mutating func i64(_ v: Int64) { u64(UInt64(bitPattern: v)) }
    public mutating func i32(_ v: Int32) { u32(UInt32(bitPattern: v)) }
    public mutating func bool(_ v: Bool) { u8(v ? 1 : 0) }
    /// A string of at most 65535 bytes; the encoder trusts its own values,
    /// which were validated when they entered the process.
    public mutating func string(_ s: String) {
        let utf8 = Array(s.utf8.prefix(Int(UInt16.max)))
        u16(UInt16(utf8.count))
        bytes.append(contentsOf: utf8)
    }
    /// Opaque bytes (a SASL exchange's data), 16-bit length.
    public mutating func data(_ d: [UInt8]) {
        u16(UInt16(min(d.count, Int(UInt16.max))))
        bytes.append(contentsOf: d.prefix(Int(UInt16.max)))
    }
    /// A larger text (configuration), 32-bit length.
    public mutating func text(_ s: String) {
        let utf8 = Array(s.utf8)
        u32(UInt32(utf8.count))
        bytes.append(contentsOf: utf8)
    }
}

/// Reads what `ByteWriter` wrote, refusing anything out of bounds.
public struct ByteReader {
    private let bytes: [UInt8]
    private var index: Int

    public init(_ bytes: [UInt8], offset: Int = 0) {
        self.bytes = bytes
        self.index = offset
    }

    public var remaining: Int { bytes.count - index }

    public mutating func u8() throws(IPCDecodeError) -> UInt8 {
        guard index < bytes.count else { throw .truncated }
        defer { index += 1 }
        return bytes[index]
    }
    public mutating func u16() throws(IPCDecodeError) -> UInt16 {
        let hi = try u8()
        let lo = try u8()
        return UInt16(hi) << 8 | UInt16(lo)
    }
    public mutating func u32() throws(IPCDecodeError) -> UInt32 {
        var v: UInt32 = 0
        for _ in 0..<4 { v = v << 8 | UInt32(try u8()) }
        return v
    }
    public mutating func u64() throws(IPCDecodeError) -> UInt64 {
        var v: UInt64 = 0
        for _ in 0..<8 { v = v << 8 | UInt64(try u8()) }
        return v
    }
    public mutating func i64() throws(IPCDecodeError) -> Int64 { Int64(bitPattern: try u64()) }
    public mutating func i32() throws(IPCDecodeError) -> Int32 { Int32(bitPattern: try u32()) }
    public mutating func bool() throws(IPCDecodeError) -> Bool {
        switch try u8() {
        case 0: return false
        case 1: return true
        default: throw .badField("bool")
        }
    }

    /// An envelope field: UTF-8, bounded, no CR, LF or NUL.
    public mutating func field(_ name: String, limit: Int = EnvelopeField.maxTextLength) throws(IPCDecodeError)
        -> String
    {
        let count = Int(try u16())
        guard count <= limit else { throw .countTooLarge(field: name, count: count) }
        guard count <= remaining else { throw .truncated }
        let slice = bytes[index..<(index + count)]
        index += count
        do {
            return try EnvelopeField.validateBytes(slice, field: name, limit: limit)
        } catch {
            throw .badField(name)
        }
    }

    /// Opaque bytes, bounded.
    public mutating func data(_ name: String, limit: Int) throws(IPCDecodeError) -> [UInt8] {
        let count = Int(try u16())
        guard count <= limit else { throw .countTooLarge(field: name, count: count) }
        guard count <= remaining else { throw .truncated }
        defer { index += count }
        return Array(bytes[index..<(index + count)])
    }

    /// A multi-line text (configuration): UTF-8, bounded, no NUL.
    public mutating func text(_ name: String, limit: Int) throws(IPCDecodeError) -> String {
        let count = Int(try u32())
        guard count <= limit else { throw .countTooLarge(field: name, count: count) }
        guard count <= remaining else { throw .truncated }
        let slice = bytes[index..<(index + count)]
        index += count
        guard !slice.contains(0), let s = String(validating: slice, as: UTF8.self) else { throw .badField(name) }
        return s
    }

    public mutating func count(_ name: String, limit: Int) throws(IPCDecodeError) -> Int {
        let n = Int(try u32())
        guard n <= limit else { throw .countTooLarge(field: name, count: n) }
        return n
    }

    public func expectEnd() throws(IPCDecodeError) {
        if remaining != 0 { throw .trailingBytes(remaining) }
    }
}
