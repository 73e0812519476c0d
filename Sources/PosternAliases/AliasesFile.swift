import PosternCore
/// The Sendmail/Postfix `aliases` text format: `name: target, target, ...`,
/// continuation lines starting with a blank, `#` comments. Parsing is pure
/// (text in, table and problems out) so that the lookup can read the file
/// however its privileges allow and tests need no files.
public enum AliasesFile {
    /// Larger than any sane line, small enough that a runaway file cannot
    /// make one entry's text huge.
    public static let maximumLineBytes = 4096
    /// The table and the list it is in memory stay bounded whatever the file.
    public static let maximumEntries = 100_000
    /// Longer lists belong in an `:include:` file; each list is bounded alike.
    public static let maximumTargetsPerEntry = 1000

    /// Reads an aliases file. A bad line costs only its own entry (reported
    /// with its file and line); a name given twice keeps its first entry,
    /// because the first is the one an administrator reading from the top
    /// sees, and the later line is reported.
    public static func parse(text: String, file: String) -> (AliasTable, [MapProblem]) {
        var table = AliasTable()
        var problems: [MapProblem] = []
        for group in entryGroups(AliasSourceLine.lines(of: text), file: file, problems: &problems) {
            guard let first = group.first else { continue }
            guard table.count < maximumEntries else {
                problems.append(
                    MapProblem(
                        file: file, line: first.number, severity: .error,
                        message: "more than \(maximumEntries) aliases; the rest of the file is ignored"))
                break
            }
            let entry: AliasEntry
            do throws(AliasLineError) {
                entry = try parseEntry(group)
            } catch {
                var message = error.reason.description
                if let name = error.name { message += "; alias \"\(name)\" ignored" }
                problems.append(MapProblem(file: file, line: error.line, severity: .error, message: message))
                continue
            }
            if let kept = table.insertKeepingFirst(entry) {
                problems.append(
                    MapProblem(
                        file: file, line: first.number, severity: .error,
                        message:
                            "duplicate alias \"\(entry.name)\" (first on line \(kept.line)); the first one wins, "
                            + "this one is ignored"))
            }
        }
        return (table, problems)
    }

    /// Reads an `:include:` file: targets separated by commas and newlines,
    /// no names, `#` comments. A bad line costs that line only. A list over
    /// the bound is refused as a whole (`.failure`), never cut short, so
    /// that no recipient is dropped without the sender hearing of it.
    public static func parseTargetList(text: String, file: String) -> (
        Result<[AliasTarget], AliasSyntaxError>, [MapProblem]
    ) {
        var targets: [AliasTarget] = []
        var problems: [MapProblem] = []
        for line in AliasSourceLine.lines(of: text) where line.kind != .ignorable {
            do throws(AliasLineError) {
                let remaining = maximumTargetsPerEntry - targets.count
                targets += try parseTargets([line], limit: remaining, name: nil)
            } catch {
                var reason = error.reason
                if case .tooManyTargets = reason { reason = .tooManyTargets(limit: maximumTargetsPerEntry) }
                problems.append(MapProblem(file: file, line: error.line, severity: .error, message: reason.description))
                if case .tooManyTargets = reason { return (.failure(reason), problems) }
            }
        }
        return (.success(targets), problems)
    }

    // MARK: - Pieces

    /// Groups the lines into entries: a start line and its continuations.
    /// A continuation with nothing above it is reported and dropped.
    private static func entryGroups(
        _ lines: [AliasSourceLine], file: String, problems: inout [MapProblem]
    ) -> [[AliasSourceLine]] {
        var groups: [[AliasSourceLine]] = []
        for line in lines {
            switch line.kind {
            case .ignorable: continue
            case .start: groups.append([line])
            case .continuation:
                if groups.isEmpty {
                    problems.append(
                        MapProblem(
                            file: file, line: line.number, severity: .error,
                            message: AliasSyntaxError.continuationWithoutEntry.description))
                } else {
                    groups[groups.count - 1].append(line)
                }
            }
        }
        return groups
    }

    /// One entry from its lines; throws with the line at fault.
    private static func parseEntry(_ lines: [AliasSourceLine]) throws(AliasLineError) -> AliasEntry {
        guard let first = lines.first else { throw AliasLineError(line: 0, reason: .emptyName) }
        do throws(AliasSyntaxError) { try first.validate() } catch {
            throw AliasLineError(line: first.number, reason: error)
        }
        guard let colon = colonAfterName(first.text) else {
            throw AliasLineError(line: first.number, reason: .missingColon)
        }
        let name: String
        do throws(AliasSyntaxError) { name = try AliasName.parse(first.text[..<colon]) } catch {
            throw AliasLineError(line: first.number, reason: error)
        }
        var segments = lines
        segments[0].text = first.text[first.text.index(after: colon)...]
        let targets = try parseTargets(segments, limit: maximumTargetsPerEntry, name: name)
        guard !targets.isEmpty else { throw AliasLineError(line: first.number, reason: .noTargets(name), name: name) }
        return AliasEntry(name: name, targets: targets, line: first.number)
    }

    /// The targets of an entry's (or an include line's) segments.
    private static func parseTargets(
        _ segments: [AliasSourceLine], limit: Int, name: String?
    ) throws(AliasLineError) -> [AliasTarget] {
        var tokenizer = AliasTargetTokenizer(limit: limit)
        for segment in segments {
            do throws(AliasSyntaxError) {
                try segment.validate()
                try tokenizer.feed(segment.text, line: segment.number)
            } catch {
                throw AliasLineError(line: segment.number, reason: error, name: name)
            }
        }
        let items: [AliasTargetTokenizer.Item]
        do throws(AliasSyntaxError) { items = try tokenizer.finish() } catch {
            throw AliasLineError(line: segments.last?.number ?? 0, reason: error, name: name)
        }
        var targets: [AliasTarget] = []
        for item in items {
            do throws(AliasSyntaxError) { targets.append(try AliasTarget.parse(item.raw)) } catch {
                throw AliasLineError(line: item.line, reason: error, name: name)
            }
        }
        return targets
    }

    /// The first colon outside a leading quoted name.
    private static func colonAfterName(_ text: Substring) -> Substring.Index? {
        AliasQuoting.firstUnquoted(in: text) { $0 == ":" }
    }
}

/// A syntax error with the line it was found on and, once known, the name
/// of the entry it costs.
struct AliasLineError: Error {
    var line: Int
    var reason: AliasSyntaxError
    var name: String?

    init(line: Int, reason: AliasSyntaxError, name: String? = nil) {
        self.line = line
        self.reason = reason
        self.name = name
    }
}
