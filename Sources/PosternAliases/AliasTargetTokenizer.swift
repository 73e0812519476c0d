/// Splits a target list at the commas that are outside quotes, across the
/// physical lines of one entry. A quote may not run past the end of its
/// line: an unclosed quote is far more often a typo than a target with a
/// newline in it, and closing it on a later line would swallow the entry.
struct AliasTargetTokenizer {
    /// One item as written, with the line it starts on (for problems).
    struct Item: Equatable {
        var line: Int
        var raw: Substring
    }

    let limit: Int
    private(set) var items: [Item] = []
    private var current = ""
    private var currentLine = 0

    init(limit: Int) {
        self.limit = limit
    }

    /// Adds one physical line's share of the list.
    mutating func feed(_ segment: Substring, line: Int) throws(AliasSyntaxError) {
        var inQuote = false
        var escaped = false
        for character in segment {
            if escaped {
                escaped = false
            } else if inQuote && character == "\\" {
                escaped = true
            } else if character == "\"" {
                inQuote.toggle()
            } else if !inQuote && character == "," {
                try finishItem()
                continue
            }
            if current.isEmpty { currentLine = line }
            current.append(character)
        }
        guard !inQuote else { throw .unterminatedQuote }
        // A line break inside an item is a blank, so `a` then `  b` without a
        // comma reads as `a b` and is refused as two targets missing a comma.
        if !current.isEmpty { current.append(" ") }
    }

    /// Ends the list and returns its items.
    mutating func finish() throws(AliasSyntaxError) -> [Item] {
        try finishItem()
        return items
    }

    /// Empty items (`a,,b`, a trailing comma) are skipped: they are how
    /// lists continued over lines are often written.
    private mutating func finishItem() throws(AliasSyntaxError) {
        let trimmed = Substring(current).trimmingMapBlanks
        current = ""
        guard !trimmed.isEmpty else { return }
        guard items.count < limit else { throw .tooManyTargets(limit: limit) }
        items.append(Item(line: currentLine, raw: trimmed))
    }
}
