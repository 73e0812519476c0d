/// The record types the lookup and relay processes ask for.
public enum DNSRecordType: UInt16, Sendable {
    case a = 1, ns = 2, cname = 5, soa = 6, ptr = 12, mx = 15, txt = 16, aaaa = 28
}

/// Decoded RDATA. Names are canonical text (see `DNSName`) and TXT strings
/// are escaped the same way for bytes outside printable ASCII, so nothing
/// in here can break a log line or an SMTP reply.
public enum DNSRecordData: Equatable, Sendable {
    case a([UInt8])
    case aaaa([UInt8])
    /// A null MX (RFC 7505) has the root as exchange: an empty string.
    case mx(preference: UInt16, exchange: String)
    case txt([String])
    case ptr(String)
    case cname(String)
    case other(type: UInt16, bytes: [UInt8])
}

public struct DNSRecord: Equatable, Sendable {
    public var name: String
    public var type: UInt16
    public var ttl: UInt32
    public var data: DNSRecordData

    public init(name: String, type: UInt16, ttl: UInt32, data: DNSRecordData) {
        self.name = name
        self.type = type
        self.ttl = ttl
        self.data = data
    }
}

public struct DNSResponse: Equatable, Sendable {
    public var rcode: UInt8
    public var answers: [DNSRecord]
    public var authoritative: Bool
    public var truncated: Bool

    public init(rcode: UInt8, answers: [DNSRecord], authoritative: Bool, truncated: Bool) {
        self.rcode = rcode
        self.answers = answers
        self.authoritative = authoritative
        self.truncated = truncated
    }
}

struct DNSQuestion: Equatable {
    var name: String
    var type: UInt16
    var qclass: UInt16
}

/// One DNS message on the wire (RFC 1035 §4). Decoding trusts nothing: every
/// read is bounds-checked, the section counts must fit the packet, and every
/// record of every section must decode, so a cut or padded-out packet is
/// refused rather than half-read.
struct DNSMessage: Equatable {
    static let classIN: UInt16 = 1
    static let rcodeNXDomain: UInt8 = 3
    static let headerLength = 12
    /// The smallest question (root name, type, class) and record (root name,
    /// type, class, TTL, RDLENGTH): what the counts are checked against.
    static let minimumQuestion = 5
    static let minimumRecord = 11

    var id: UInt16
    var isResponse: Bool
    var opcode: UInt8
    var authoritative: Bool
    var truncated: Bool
    var rcode: UInt8
    var question: DNSQuestion?
    var answers: [DNSRecord]

    /// A standard query with recursion desired and one question.
    static func query(id: UInt16, labels: [[UInt8]], type: UInt16) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(headerLength + 260)
        append16(id, to: &out)
        append16(0x0100, to: &out)
        append16(1, to: &out)
        append16(0, to: &out)
        append16(0, to: &out)
        append16(0, to: &out)
        out.append(contentsOf: DNSName.wire(labels))
        append16(type, to: &out)
        append16(classIN, to: &out)
        return out
    }

    /// `records: false` stops after the question: a truncated UDP reply is
    /// only read far enough to know it is ours before retrying over TCP.
    static func decode(_ packet: [UInt8], records: Bool = true) throws(DNSError) -> DNSMessage {
        var reader = DNSWireReader(packet)
        let id = try reader.u16()
        let flags = try reader.u16()
        let qdcount = Int(try reader.u16())
        let ancount = Int(try reader.u16())
        let nscount = Int(try reader.u16())
        let arcount = Int(try reader.u16())
        guard qdcount <= 1 else { throw .malformed("more than one question") }
        var message = DNSMessage(
            id: id, isResponse: flags & 0x8000 != 0, opcode: UInt8(flags >> 11 & 0x0F),
            authoritative: flags & 0x0400 != 0, truncated: flags & 0x0200 != 0, rcode: UInt8(flags & 0x000F),
            question: nil, answers: [])
        let needed = qdcount * minimumQuestion + (records ? (ancount + nscount + arcount) * minimumRecord : 0)
        guard needed <= packet.count - headerLength else { throw .malformed("section counts exceed the packet") }
        if qdcount == 1 {
            let (name, next) = try DNSName.read(packet, at: reader.offset, limit: packet.count)
            reader.offset = next
            message.question = DNSQuestion(name: name, type: try reader.u16(), qclass: try reader.u16())
        }
        guard records else { return message }
        for index in 0..<(ancount + nscount + arcount) {
            let record = try readRecord(&reader)
            if index < ancount, record.qclass == classIN { message.answers.append(record.record) }
        }
        return message
    }

    private static func readRecord(_ reader: inout DNSWireReader) throws(DNSError) -> (
        record: DNSRecord, qclass: UInt16
    ) {
        let packet = reader.bytes
        let (name, next) = try DNSName.read(packet, at: reader.offset, limit: packet.count)
        reader.offset = next
        let type = try reader.u16()
        let qclass = try reader.u16()
        let rawTTL = try reader.u32()
        let length = Int(try reader.u16())
        let start = reader.offset
        let end = start + length
        guard end <= packet.count else { throw .malformed("RDATA runs past the packet") }
        reader.offset = end
        // RFC 2181 §8: a TTL with the top bit set is read as zero.
        let ttl = rawTTL > UInt32(Int32.max) ? 0 : rawTTL
        let data = try readData(type: type, packet: packet, start: start, end: end)
        return (DNSRecord(name: name, type: type, ttl: ttl, data: data), qclass)
    }

    private static func readData(type: UInt16, packet: [UInt8], start: Int, end: Int) throws(DNSError)
        -> DNSRecordData
    {
        switch DNSRecordType(rawValue: type) {
        case .a:
            guard end - start == 4 else { throw .malformed("A record is not 4 octets") }
            return .a(Array(packet[start..<end]))
        case .aaaa:
            guard end - start == 16 else { throw .malformed("AAAA record is not 16 octets") }
            return .aaaa(Array(packet[start..<end]))
        case .mx:
            guard end - start >= 3 else { throw .malformed("MX record too short") }
            let preference = UInt16(packet[start]) << 8 | UInt16(packet[start + 1])
            let exchange = try nameFilling(packet, start + 2, end)
            return .mx(preference: preference, exchange: exchange)
        case .ptr:
            return .ptr(try nameFilling(packet, start, end))
        case .cname:
            return .cname(try nameFilling(packet, start, end))
        case .txt:
            return .txt(try characterStrings(packet, start, end))
        default:
            return .other(type: type, bytes: Array(packet[start..<end]))
        }
    }

    /// A name that must be exactly the RDATA, no more and no less.
    private static func nameFilling(_ packet: [UInt8], _ start: Int, _ end: Int) throws(DNSError) -> String {
        let (name, next) = try DNSName.read(packet, at: start, limit: end)
        guard next == end else { throw .malformed("RDLENGTH does not match the name") }
        return name
    }

    /// Each string is at most 255 octets by construction; escaped, at most
    /// four characters per octet. Backslash is escaped too, so the text
    /// reads back unambiguously.
    private static func characterStrings(_ packet: [UInt8], _ start: Int, _ end: Int) throws(DNSError) -> [String] {
        var strings: [String] = []
        var position = start
        while position < end {
            let length = Int(packet[position])
            let from = position + 1
            guard from + length <= end else { throw .malformed("TXT string runs past its record") }
            var text = ""
            for byte in packet[from..<from + length] {
                if byte >= 0x20, byte < 0x7F, byte != UInt8(ascii: "\\") {
                    text.unicodeScalars.append(Unicode.Scalar(byte))
                } else {
                    DNSName.appendDecimalEscape(byte, to: &text)
                }
            }
            strings.append(text)
            position = from + length
        }
        return strings
    }

    private static func append16(_ value: UInt16, to out: inout [UInt8]) {
        out.append(UInt8(value >> 8))
        out.append(UInt8(value & 0xFF))
    }
}

/// Big-endian reads that fail instead of trapping at the end of the packet.
struct DNSWireReader {
    let bytes: [UInt8]
    var offset = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    mutating func u16() throws(DNSError) -> UInt16 {
        guard offset + 2 <= bytes.count else { throw .malformed("packet ends inside a field") }
        defer { offset += 2 }
        return UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
    }

    mutating func u32() throws(DNSError) -> UInt32 {
        let high = try u16()
        let low = try u16()
        return UInt32(high) << 16 | UInt32(low)
    }
}
