/// One option of `postern.conf`: a row of the table in
/// `ConfigOptionTable.swift`. The row holds all there is to know about the
/// option besides its property (whose initial value is the default): its
/// name, where its value lives, how the value is parsed and printed, what
/// the file system must say about it, and whether a reload applies it. The
/// loader, `render()` and the master's reload only walk the table, so no
/// option can be half added.
struct ConfigOption: Sendable {
    /// The canonical spelling: `render()` prints it, errors name it.
    let rawValue: String
    /// Where the value lives (for Listen, the addresses; their kinds go
    /// along). Tells the table's tests that no property has two rows.
    let keyPath: PartialKeyPath<PosternConfig> & Sendable
    /// Only Listen may appear more than once: each line adds a socket. For
    /// any other option a second line is almost always a forgotten first
    /// one, and silently letting the last win hides that.
    let isRepeatable: Bool
    /// nil when a reload applies a new value; otherwise why it waits for a
    /// restart (the master's warning).
    let restart: ConfigRestart?
    /// Parses the text into `parser.config` and, when the parser checks the
    /// file system, judges the value there; the line is Listen's, which
    /// remembers where each address was listed.
    let apply: @Sendable (_ value: String, _ line: Int, _ parser: inout ConfigParser) throws(ConfigValueErrors) -> Void
    /// The value in the file's syntax, one entry per line printed.
    let render: @Sendable (PosternConfig) -> [String]
    /// Why the value, left at its default, does not fit this system; only
    /// for the options whose defaults are checked (the directories, MailGroup).
    let defaultProblem: @Sendable (PosternConfig) -> String?
    /// Whether two configurations agree on this option.
    let sameValue: @Sendable (PosternConfig, PosternConfig) -> Bool
    /// Sets this option in `target` to its value in `source`.
    let copyValue: @Sendable (_ source: PosternConfig, _ target: inout PosternConfig) -> Void
}

extension ConfigOption {
    /// The usual row: a value of one kind at one place in the configuration.
    static func option<Value: Equatable & SendableMetatype>(
        _ name: String, _ keyPath: WritableKeyPath<PosternConfig, Value> & Sendable, _ kind: ConfigValueKind<Value>,
        check: ConfigFileCheck<Value>? = nil, restart: ConfigRestart? = nil
    ) -> ConfigOption {
        ConfigOption(
            rawValue: name, keyPath: keyPath, isRepeatable: false, restart: restart,
            apply: { value, _, parser throws(ConfigValueErrors) in
                let parsed = try kind.parse(value)
                // Stored before the check, so the post-pass sees what the
                // file says even when that does not exist here.
                parser.config[keyPath: keyPath] = parsed
                if parser.checkFileSystem, let problem = check?.problem(parsed) {
                    throw ConfigValueErrors(problem)
                }
            },
            render: { config in [kind.render(config[keyPath: keyPath])] },
            defaultProblem: { config in
                guard let check, check.checksDefault else { return nil }
                return check.problem(config[keyPath: keyPath])
            },
            sameValue: { $0[keyPath: keyPath] == $1[keyPath: keyPath] },
            copyValue: { source, target in target[keyPath: keyPath] = source[keyPath: keyPath] })
    }

    /// `LogFile = syslog`: the explicit way to say "no log file", so that
    /// `render()` can name the default. Not a path, so it cannot clash.
    static let syslogKeyword = "syslog"
    /// An empty list (no block lists; the resolvers of /etc/resolv.conf), no
    /// file, no smart host.
    static let noneKeyword = "none"

    /// Names are matched case-insensitively, as Sendmail does.
    static let byLowercasedName: [String: ConfigOption] = {
        var table: [String: ConfigOption] = [:]
        for option in allCases { table[ConfigText.asciiLowercased(option.rawValue)] = option }
        return table
    }()
}

/// Options are told apart by name (the table's tests make names unique), so
/// the loader can key by option where each was first set.
extension ConfigOption: Hashable {
    static func == (lhs: ConfigOption, rhs: ConfigOption) -> Bool { lhs.rawValue == rhs.rawValue }
    func hash(into hasher: inout Hasher) { hasher.combine(rawValue) }
}

/// What the file system must say about a value. Only the master and
/// `postern check` ask (a child in its jail sees none of these paths), and
/// the reason is the whole message after the option's name.
struct ConfigFileCheck<Value>: Sendable {
    let problem: @Sendable (Value) -> String?
    /// Whether the default is checked too when the file does not set the
    /// option (reported on line 0, "(default value)").
    let checksDefault: Bool
}

extension ConfigFileCheck where Value == String {
    /// An existing directory; the defaults are checked as well.
    static var directory: Self {
        Self(problem: { path in ConfigSystem.directoryProblem(path).map { "\(path): \($0)" } }, checksDefault: true)
    }

    /// A group of the group database.
    static func group(checkingDefault: Bool) -> Self {
        Self(problem: { ConfigSystem.groupProblem($0) }, checksDefault: checkingDefault)
    }

    /// A user of the password database, not root.
    static var user: Self { Self(problem: { ConfigSystem.userProblem($0) }, checksDefault: false) }
}

extension ConfigFileCheck where Value == String? {
    /// A file that can be created or appended to (nil: none, nothing to check).
    static var logFile: Self {
        Self(
            problem: { path in path.flatMap { path in ConfigSystem.logFileProblem(path).map { "\(path): \($0)" } } },
            checksDefault: false)
    }
}
