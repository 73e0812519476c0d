/// One physical line of an aliases or include file, classified before any
/// parsing: what kind of line it is decides how lines group into entries,
/// and the checks here (length, control characters) apply to every line.
struct AliasSourceLine {
    enum Kind: Equatable {
        /// Blank, or a `#` comment (first non-blank character): skipped, and
        /// an entry's continuation lines may go on after it, as in Postfix.
        case ignorable
        /// Starts with a blank: more targets for the entry above.
        case continuation
        /// Starts an entry (or, in an include file, is just a line).
        case start
    }

    var number: Int
    var text: Substring
    var kind: Kind

    /// Splits on LF and CRLF (a Swift `Character` holds CRLF as one).
    static func lines(of text: String) -> [AliasSourceLine] {
        let pieces = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
        return pieces.enumerated().map { index, piece in
            let kind: Kind
            let trimmed = piece.trimmingMapBlanks
            if trimmed.isEmpty || trimmed.first == "#" {
                kind = .ignorable
            } else if piece.first == " " || piece.first == "\t" {
                kind = .continuation
            } else {
                kind = .start
            }
            return AliasSourceLine(number: index + 1, text: piece, kind: kind)
        }
    }

    /// Refuses a line that is too long or holds a control character. The
    /// text goes to logs, to pipe commands and file names, so nothing may
    /// hide in it; a tab is the only control character allowed (a CR left
    /// by a CRLF file never reaches here).
    func validate() throws(AliasSyntaxError) {
        let bytes = text.utf8.count
        guard bytes <= AliasesFile.maximumLineBytes else { throw .lineTooLong(bytes: bytes) }
        for scalar in text.unicodeScalars {
            let value = scalar.value
            if value == 0 { throw .nulByte }
            if value == 9 { continue }
            if value < 0x20 || (0x7F...0x9F).contains(value) { throw .controlCharacter(value) }
        }
    }
}
