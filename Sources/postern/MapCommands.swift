import ArgumentParser
import Glibc
import PosternAliases
import PosternCore
import PosternLookup

/// `postern newaliases` (and `newaliases`): checks ConfigDirectory/aliases
/// and, when it has no errors, asks the running daemon to reload it. The
/// maps are text read on every reload (no database to rebuild), so this is
/// Sendmail's `newaliases` without the makemap step: what it adds is the
/// check, with file:line for every problem, before the daemon sees the file.
struct Newaliases: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check the aliases file and make the daemon reload it.")

    @OptionGroup var options: ConfigOption

    func run() throws {
        let config = try MapCheck.loadConfig(options.config)
        let path = config.configDirectory + "/aliases"
        let (read, failure) = MapCheck.read(path)
        guard let text = read else {
            StandardError.write("postern newaliases: \(failure ?? "\(path): no such file")\n")
            throw ExitCode(1)
        }
        let (table, problems) = AliasesFile.parse(text: text, file: path)
        let errors = MapCheck.report(problems)
        print("\(path): \(table.count) aliases")
        guard errors == 0 else {
            StandardError.write("postern newaliases: \(errors) errors; the daemon was not asked to reload\n")
            throw ExitCode(1)
        }
        guard MapCheck.signalDaemon(config, command: "newaliases") else { throw ExitCode(1) }
    }
}

/// The checks `postern check` and `newaliases` share.
enum MapCheck {
    static func loadConfig(_ path: String) throws -> PosternConfig {
        switch ConfigLoader.load(path: path) {
        case .failure(let errors):
            StandardError.write("\(errors)\n")
            throw ExitCode(1)
        case .success(let config): return config
        }
    }

    /// The file's text, read as the daemon reads it; nil when it cannot be
    /// read (`failure` says why).
    static func read(_ path: String) -> (text: String?, failure: String?) {
        switch MapFileReader.read(path, limit: 16 << 20) {
        case .success(let contents): return (contents.text, nil)
        case .failure(let failure): return (nil, failure.errno == ENOENT ? nil : failure.description)
        }
    }

    /// Prints the problems (errors and warnings) to stderr; returns the
    /// number of errors.
    static func report(_ problems: [MapProblem]) -> Int {
        for problem in problems { StandardError.write("\(problem)\n") }
        return problems.filter { $0.severity == .error }.count
    }

    /// Every map of the configuration directory that exists, checked.
    static func checkAll(_ config: PosternConfig) -> Int {
        let directory = config.configDirectory
        var errors = 0
        func check(_ name: String, _ parse: (String, String) -> [MapProblem]) {
            let path = directory + "/" + name
            let (text, failure) = read(path)
            if let failure {
                StandardError.write("\(failure)\n")
                errors += 1
            }
            guard let text else { return }
            errors += report(parse(text, path))
        }
        check("access") { AccessMap.parse(text: $0, file: $1).1 }
        check("local-host-names") { LocalHostNames.parse(text: $0, file: $1).1 }
        check("aliases") { AliasesFile.parse(text: $0, file: $1).1 }
        check("virtusertable") { Virtusertable.parse(text: $0, file: $1).1 }
        check("mailertable") { Mailertable.parse(text: $0, file: $1).1 }
        return errors
    }

    /// SIGHUP to the master named by RunDirectory/postern.pid, if it runs.
    /// Tells the daemon to reload: through its control socket (root and
    /// QueueAdminGroup), else by SIGHUP (root). False when it runs and
    /// could not be told: the caller exits non-zero.
    @discardableResult
    static func signalDaemon(_ config: PosternConfig, command: String) -> Bool {
        let pidPath = config.runDirectory + "/postern.pid"
        guard let text = read(pidPath).text,
            let pid = Int32(text.trimmingCharacters(in: [" ", "\n"])), pid > 1, kill(pid, 0) == 0 || errno == EPERM
        else {
            print("the daemon is not running; it reads the file when it starts")
            return true
        }
        if let answer = try? MasterClient.ask("reload", configPath: config.sourcePath, quiet: true),
            answer.hasPrefix("applied")
        {
            print("the daemon (pid \(pid)) reloaded")
            return true
        }
        if kill(pid, SIGHUP) == 0 {
            print("the daemon (pid \(pid)) is reloading")
            return true
        }
        StandardError.write(
            "postern \(command): the daemon (pid \(pid)) was not told: \(String(cString: strerror(errno))) (run it as root or as a member of QueueAdminGroup)\n"
        )
        return false
    }
}

extension String {
    fileprivate func trimmingCharacters(in set: Set<Character>) -> String {
        var s = Substring(self)
        while let f = s.first, set.contains(f) { s = s.dropFirst() }
        while let l = s.last, set.contains(l) { s = s.dropLast() }
        return String(s)
    }
}
