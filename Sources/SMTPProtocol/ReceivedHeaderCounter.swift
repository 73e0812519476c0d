/// Counts `Received:` fields in a message's header section as the bytes
/// stream past, for the hop limit of RFC 5321 §6.3: a loop between two
/// misconfigured MTAs ends at the limit instead of running forever. Only
/// O(1) state is kept; nothing of the message is stored.
struct ReceivedHeaderCounter: Sendable {
    private static let fieldName = Array("received".utf8)

    private enum LineState {
        /// Matching the field name; the value is how many bytes matched.
        case name(Int)
        /// The name matched; blanks may precede the colon (RFC 5322 §4.5.3).
        case beforeColon
        /// The line is decided, one way or the other.
        case rest
    }

    private(set) var count = 0
    private(set) var inHeaderSection = true
    private var line = LineState.name(0)
    private var lineIsEmpty = true
    private var afterCR = false

    mutating func feed(_ byte: UInt8) {
        guard inHeaderSection else { return }
        if afterCR {
            afterCR = false
            if byte == ASCII.lf {
                // An empty line ends the header section (RFC 5322 §2.1).
                if lineIsEmpty { inHeaderSection = false }
                line = .name(0)
                lineIsEmpty = true
                return
            }
            advance(ASCII.cr)
        }
        if byte == ASCII.cr {
            afterCR = true
        } else {
            advance(byte)
        }
    }

    private mutating func advance(_ byte: UInt8) {
        lineIsEmpty = false
        switch line {
        case .name(let matched):
            if ASCII.lowercased(byte) == Self.fieldName[matched] {
                line = matched + 1 == Self.fieldName.count ? .beforeColon : .name(matched + 1)
            } else {
                line = .rest
            }
        case .beforeColon:
            if byte == ASCII.colon {
                count += 1
                line = .rest
            } else if byte != ASCII.space && byte != ASCII.tab {
                line = .rest
            }
        case .rest:
            break
        }
    }
}
