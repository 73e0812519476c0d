/// Domain names, both ways: what we put in a query and what we accept back.
///
/// Names read from a reply end up in logs, SMTP replies and the relay's
/// routing, so they come out in one canonical text form: lowercase, no
/// trailing dot, and every byte outside letters, digits, `-` and `_`
/// written as `\DDD`. A hostile server cannot smuggle a dot inside a label,
/// a CR/LF, a space or a `>` through that.
enum DNSName {
    static let maxWireLength = 255
    static let maxTextLength = 253
    static let maxLabelLength = 63
    /// A legitimate name needs far fewer (one per suffix at most); the bound
    /// is a second guard after "pointers only go backwards".
    static let maxPointers = 64

    /// Query names come from mail traffic (HELO names, MX targets, client
    /// addresses turned into DNSBL names), so only the host-name alphabet is
    /// sent; anything else is refused before it reaches the wire.
    static func labels(of name: String) throws(DNSError) -> [[UInt8]] {
        var text = Array(name.utf8)
        if text.last == UInt8(ascii: ".") { text.removeLast() }
        guard !text.isEmpty, text.count <= maxTextLength else { throw .badName(escapedForLog(name)) }
        var labels: [[UInt8]] = []
        var label: [UInt8] = []
        for byte in text {
            switch byte {
            case UInt8(ascii: "."):
                guard !label.isEmpty, label.count <= maxLabelLength else { throw .badName(escapedForLog(name)) }
                labels.append(label)
                label = []
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "_"):
                label.append(byte)
            case UInt8(ascii: "A")...UInt8(ascii: "Z"):
                label.append(byte | 0x20)
            default:
                throw .badName(escapedForLog(name))
            }
        }
        guard !label.isEmpty, label.count <= maxLabelLength else { throw .badName(escapedForLog(name)) }
        labels.append(label)
        return labels
    }

    /// The canonical text of a name we are about to query, so that it can be
    /// compared with names read back from the reply.
    static func canonical(_ name: String) throws(DNSError) -> String {
        text(of: try labels(of: name))
    }

    static func wire(_ labels: [[UInt8]]) -> [UInt8] {
        var out: [UInt8] = []
        for label in labels {
            out.append(UInt8(label.count))
            out.append(contentsOf: label)
        }
        out.append(0)
        return out
    }

    static func text(of labels: [[UInt8]]) -> String {
        var out = ""
        for (index, label) in labels.enumerated() {
            if index > 0 { out.append(".") }
            appendEscaped(label, to: &out)
        }
        return out
    }

    /// Reads a name that may be compressed. `limit` bounds the part stored
    /// in place (the record's RDATA, say); `next` is where the field ends.
    ///
    /// Every pointer must point before the start of the stretch that holds
    /// it, so each jump goes strictly backwards and the walk ends whatever
    /// the packet says; the octet and pointer bounds are extra guards.
    static func read(_ packet: [UInt8], at offset: Int, limit: Int) throws(DNSError) -> (name: String, next: Int) {
        var position = offset
        var segmentStart = offset
        var bound = min(limit, packet.count)
        var next: Int?
        var pointers = 0
        var wireLength = 0
        var text = ""
        while true {
            guard position >= 0, position < bound else { throw .malformed("name runs past its field") }
            let length = Int(packet[position])
            switch length & 0xC0 {
            case 0x00:
                wireLength += length + 1
                guard wireLength <= maxWireLength else { throw .malformed("name longer than 255 octets") }
                if length == 0 {
                    return (text, next ?? position + 1)
                }
                let start = position + 1
                guard start + length <= bound else { throw .malformed("label runs past its field") }
                if !text.isEmpty { text.append(".") }
                appendEscaped(packet[start..<start + length], to: &text)
                position = start + length
            case 0xC0:
                guard position + 1 < bound else { throw .malformed("pointer runs past its field") }
                let target = (length & 0x3F) << 8 | Int(packet[position + 1])
                pointers += 1
                guard pointers <= maxPointers else { throw .malformed("too many compression pointers") }
                guard target < segmentStart else { throw .malformed("compression pointer does not point backwards") }
                if next == nil { next = position + 2 }
                segmentStart = target
                position = target
                bound = packet.count
            default:
                throw .malformed("unknown label type")
            }
        }
    }

    /// The escaping used for names and TXT alike: see the type's comment.
    static func appendEscaped<Bytes: Collection>(_ label: Bytes, to out: inout String) where Bytes.Element == UInt8 {
        for byte in label {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "_"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            case UInt8(ascii: "A")...UInt8(ascii: "Z"):
                out.unicodeScalars.append(Unicode.Scalar(byte | 0x20))
            default:
                appendDecimalEscape(byte, to: &out)
            }
        }
    }

    static func appendDecimalEscape(_ byte: UInt8, to out: inout String) {
        out.append("\\")
        out.unicodeScalars.append(Unicode.Scalar(UInt8(ascii: "0") + byte / 100))
        out.unicodeScalars.append(Unicode.Scalar(UInt8(ascii: "0") + byte / 10 % 10))
        out.unicodeScalars.append(Unicode.Scalar(UInt8(ascii: "0") + byte % 10))
    }

    /// A caller's bad input goes into an error that will be logged: keep it
    /// short and printable.
    static func escapedForLog(_ text: String) -> String {
        var out = ""
        for byte in text.utf8.prefix(300) {
            switch byte {
            case UInt8(ascii: "."), UInt8(ascii: ":"), UInt8(ascii: "%"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                appendEscaped(CollectionOfOne(byte), to: &out)
            }
        }
        return out
    }
}
