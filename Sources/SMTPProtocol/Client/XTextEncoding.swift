/// RFC 3461 §4 xtext, for ENVID= and the address part of ORCPT=: every
/// octet outside "!" to "~", and "+" and "=" themselves, as "+" and two
/// uppercase hex digits. The queue keeps these values decoded; whatever
/// they hold (spaces, "=", even octets above 127) comes out as one safe
/// parameter word.
enum XTextEncoding {
    static func encode(_ text: String) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            if byte > 0x20 && byte < 0x7F && byte != UInt8(ascii: "+") && byte != UInt8(ascii: "=") {
                out.append(byte)
            } else {
                out.append(UInt8(ascii: "+"))
                out.append(hexDigit(byte >> 4))
                out.append(hexDigit(byte & 0x0F))
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func hexDigit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? 0x30 + nibble : 0x41 + nibble - 10
    }
}
