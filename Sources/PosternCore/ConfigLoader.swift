/// Reads `postern.conf`: `Name = value` lines; blank lines and lines whose
/// first non-blank character is `#` are comments. There are no trailing
/// comments, so a value (a greeting) may hold `#`. Every problem is reported,
/// each as `FILE:LINE: reason`, so one `postern check` lists them all.
public enum ConfigLoader {
    /// Parses configuration text.
    ///
    /// - Parameter checkFileSystem: also verify that the directories exist and
    ///   are directories, that LogFile's directory exists and that MailGroup
    ///   is a known group. The master and `postern check` ask for this;
    ///   chrooted children parse the text they were handed without it,
    ///   because from inside their jail those paths do not exist.
    public static func parse(text: String, file: String, checkFileSystem: Bool) -> Result<PosternConfig, ConfigErrors> {
        parse(text: text, file: file, checkFileSystem: checkFileSystem, systemHostName: ConfigSystem.systemHostName)
    }

    /// The same, with the source of the default host name replaceable, so
    /// tests can pin it (and give a bad one).
    static func parse(
        text: String, file: String, checkFileSystem: Bool,
        systemHostName: () -> Result<String, ConfigValueError>
    ) -> Result<PosternConfig, ConfigErrors> {
        var parser = ConfigParser(file: file, checkFileSystem: checkFileSystem)
        var number = 0
        for line in text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false) {
            number += 1
            parser.parseLine(Substring(line), number: number)
        }
        parser.finish(systemHostName: systemHostName)
        return parser.errors.isEmpty ? .success(parser.config) : .failure(ConfigErrors(parser.errors))
    }

    /// Reads the file with open/read and parses it with the file-system
    /// checks on. A file that cannot be read is one error on line 0; lines
    /// that are not UTF-8 are reported by number and nothing else is parsed
    /// (the text around them cannot be trusted to mean what it seems).
    public static func load(path: String) -> Result<PosternConfig, ConfigErrors> {
        let bytes: [UInt8]
        switch ConfigSystem.readFile(path) {
        case .success(let contents):
            bytes = contents
        case .failure(.system(let message)):
            return .failure(ConfigErrors([ConfigError(file: path, line: 0, reason: "cannot read: \(message)")]))
        case .failure(.tooLarge):
            return .failure(
                ConfigErrors([
                    ConfigError(
                        file: path, line: 0,
                        reason: "larger than \(ConfigSystem.maxFileSize) bytes; not a configuration file")
                ]))
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            var errors: [ConfigError] = []
            for (index, line) in bytes.split(separator: 0x0A, omittingEmptySubsequences: false).enumerated()
            where String(validating: line, as: UTF8.self) == nil {
                errors.append(ConfigError(file: path, line: index + 1, reason: "not valid UTF-8"))
            }
            return .failure(ConfigErrors(errors))
        }
        return parse(text: text, file: path, checkFileSystem: true)
    }
}

/// The state of one parse: the config so far, the errors so far, and where
/// each option was first set (for duplicate errors and the post-pass).
struct ConfigParser {
    let file: String
    let checkFileSystem: Bool
    var config: PosternConfig
    var errors: [ConfigError] = []
    var firstLine: [ConfigOption: Int] = [:]
    var listenLines: [ListenAddress: Int] = [:]

    /// A greeting this long (plus "220 " and CRLF) still fits the 512-byte
    /// reply line of RFC 5321 §4.5.3.1.5.
    static let maxExpandedGreeting = 512 - 6
    /// The longest date `$b` expands to: "Wed, 31 Dec 2025 23:59:59 +0000".
    static let longestDate = String(repeating: "x", count: 31)

    init(file: String, checkFileSystem: Bool) {
        self.file = file
        self.checkFileSystem = checkFileSystem
        // The host name is filled in by finish() when the file does not set it.
        self.config = PosternConfig(sourcePath: file, myHostname: "")
    }

    mutating func fail(_ line: Int, _ reason: String) {
        errors.append(ConfigError(file: file, line: line, reason: reason))
    }

    mutating func fail(_ line: Int, _ option: ConfigOption, _ reason: String) {
        fail(line, "\(option.rawValue): \(reason)")
    }

    mutating func parseLine(_ raw: Substring, number: Int) {
        var scalars = raw.unicodeScalars
        // A file written on Windows ends lines with CRLF; the CR is not part
        // of the value. A CR anywhere else stays and is judged by the value.
        if scalars.last == "\r" { scalars.removeLast() }
        let line = ConfigText.trimmed(Substring(scalars))
        if line.isEmpty || line.unicodeScalars.first == "#" { return }
        guard let equals = line.unicodeScalars.firstIndex(of: "=") else {
            fail(number, "missing \"=\" in \(ConfigText.quoted(line)) (expected \"Name = value\")")
            return
        }
        let name = ConfigText.trimmed(line[..<equals])
        let value = String(ConfigText.trimmed(line[line.unicodeScalars.index(after: equals)...]))
        guard !name.isEmpty else {
            fail(number, "missing option name before \"=\"")
            return
        }
        guard let option = ConfigOption.byLowercasedName[ConfigText.asciiLowercased(name)] else {
            fail(number, "unknown option \(ConfigText.quoted(name))")
            return
        }
        if let first = firstLine[option] {
            if !option.isRepeatable {
                fail(number, "duplicate option \"\(option.rawValue)\" (first set on line \(first))")
                return
            }
        } else {
            firstLine[option] = number
        }
        guard !value.isEmpty else {
            fail(number, option, "missing value")
            return
        }
        apply(option, value: value, line: number)
    }

    /// Parses one value into the config through the option's row, or
    /// records why not (a list may give several reasons, each a line).
    mutating func apply(_ option: ConfigOption, value: String, line: Int) {
        do throws(ConfigValueErrors) {
            try option.apply(value, line, &self)
        } catch {
            for problem in error.all { fail(line, option, problem.reason) }
        }
    }
}
