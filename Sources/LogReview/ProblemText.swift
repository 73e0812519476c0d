/// A warning's or an error's text made into a key that groups its
/// repetitions: numbers become `N` (pids, sizes, seconds, addresses'
/// octets) and queue ids `QID`, as pflogsumm does. At most 160 bytes.
enum ProblemText {
    static func key(_ text: Substring) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(min(text.utf8.count, 160))
        var lastWasDigit = false
        var word: [UInt8] = []
        func flushWord() {
            if word.count == 12 && word.allSatisfy(QueueIDShape.isAlphabet) && word.contains(where: { $0 >= 0x41 }) {
                out += Array("QID".utf8)
            } else {
                for b in word {
                    let digit = b >= 0x30 && b <= 0x39
                    if digit {
                        if !lastWasDigit { out.append(0x4E) }
                    } else {
                        out.append(b)
                    }
                    lastWasDigit = digit
                }
            }
            word = []
        }
        for b in text.utf8 {
            if out.count >= 160 { break }
            let isWordByte = (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A)
            if isWordByte {
                word.append(b)
            } else {
                flushWord()
                lastWasDigit = false
                out.append(b)
            }
        }
        flushWord()
        return String(decoding: out.prefix(160), as: UTF8.self)
    }
}
