/// The fixed frame header. Frames travel over SOCK_SEQPACKET socketpairs, so
/// one datagram is one frame; the declared length must still equal the
/// datagram's size, and a datagram larger than `maxSize` is refused.
///
///     0      4      6   7   8         12
///     +------+------+---+---+---------+----------
///     |length| type |ver|flg|requestID| payload…
public struct FrameHeader: Equatable, Sendable {
    public static let size = 12
    public static let version: UInt8 = 1
    public static let maxSize = 65_536
    public static let responseFlag: UInt8 = 1

    public var length: UInt32
    public var type: UInt16
    public var version: UInt8
    public var flags: UInt8
    public var requestID: UInt32
}

/// One decoded frame: the message, whether it answers a request, and the
/// descriptors that came with it (the receiver owns and must close them).
public struct Frame: Sendable {
    public var message: IPCMessage
    public var requestID: UInt32
    public var isResponse: Bool
    public var descriptors: [Int32]

    public init(message: IPCMessage, requestID: UInt32 = 0, isResponse: Bool = false, descriptors: [Int32] = []) {
        self.message = message
        self.requestID = requestID
        self.isResponse = isResponse
        self.descriptors = descriptors
    }
}

public enum FrameCodec {
    public static func encode(_ message: IPCMessage, requestID: UInt32, isResponse: Bool) -> [UInt8] {
        var w = ByteWriter()
        w.u32(0)
        w.u16(message.kind.rawValue)
        w.u8(FrameHeader.version)
        w.u8(isResponse ? FrameHeader.responseFlag : 0)
        w.u32(requestID)
        message.encodePayload(into: &w)
        var bytes = w.bytes
        let n = UInt32(bytes.count)
        bytes[0] = UInt8(n >> 24)
        bytes[1] = UInt8((n >> 16) & 0xFF)
        bytes[2] = UInt8((n >> 8) & 0xFF)
        bytes[3] = UInt8(n & 0xFF)
        return bytes
    }

    /// Decodes one datagram. `descriptorCount` is how many descriptors arrived
    /// with it; the caller closes them when this throws.
    public static func decode(_ bytes: [UInt8], descriptorCount: Int) throws(IPCDecodeError) -> (
        message: IPCMessage, requestID: UInt32, isResponse: Bool
    ) {
        guard bytes.count <= FrameHeader.maxSize else { throw .frameTooLarge(bytes.count) }
        var r = ByteReader(bytes)
        let length = Int(try r.u32())
        let type = try r.u16()
        let version = try r.u8()
        let flags = try r.u8()
        let requestID = try r.u32()
        guard length == bytes.count else { throw .lengthMismatch(declared: length, actual: bytes.count) }
        guard version == FrameHeader.version else { throw .unsupportedVersion(version) }
        guard flags & ~FrameHeader.responseFlag == 0 else { throw .badField("flags") }
        guard let kind = IPCMessage.Kind(rawValue: type) else { throw .unknownType(type) }
        guard kind.descriptorCount == descriptorCount else {
            throw .unexpectedDescriptors(expected: kind.descriptorCount, got: descriptorCount)
        }
        let message = try IPCMessage.decode(kind: kind, payload: &r)
        return (message, requestID, flags & FrameHeader.responseFlag != 0)
    }
}
