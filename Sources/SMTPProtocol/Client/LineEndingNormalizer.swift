/// Makes every line ending CR LF before content goes out. RFC 5321 §2.3.8
/// forbids sending a bare CR or bare LF, and a relay that passes them on is
/// how SMTP smuggling crosses from one hop to the next ("\n.\n" reads as
/// the end of data to some servers): each becomes CR LF here, as the
/// listener's `normalize` policy would have stored it.
///
/// A CR at the end of one block waits for the next, since its LF may start
/// that one.
struct LineEndingNormalizer: Sendable {
    private var pendingCR = false

    mutating func normalize(_ block: some Collection<UInt8>, into out: inout [UInt8]) {
        for byte in block {
            if pendingCR {
                pendingCR = false
                out.append(0x0D)
                out.append(0x0A)
                if byte == 0x0A { continue }
            }
            switch byte {
            case 0x0D:
                pendingCR = true
            case 0x0A:
                out.append(0x0D)
                out.append(0x0A)
            default:
                out.append(byte)
            }
        }
    }

    /// What a final bare CR becomes.
    mutating func finish(into out: inout [UInt8]) {
        if pendingCR {
            pendingCR = false
            out.append(0x0D)
            out.append(0x0A)
        }
    }
}
