import Glibc
import PosternAliases
import PosternCore

/// `postern check`'s audit of every file the daemon trusts (`FileTrust`):
/// each problem printed as `path: what: why`, and counted as an error.
enum FileAudit {
    static func run(_ config: PosternConfig, configPath: String) -> Int {
        var problems: [String] = []
        func audit(_ path: String, _ trust: FileTrust, followLinks: Bool = false) {
            var info = stat()
            let rc = followLinks ? stat(path, &info) : lstat(path, &info)
            guard rc == 0 else { return }  // what is missing is the other checks' business
            problems += trust.problems(path: path, uid: info.st_uid, mode: info.st_mode)
        }
        audit(configPath, .policy, followLinks: true)
        let directory = config.configDirectory
        audit(directory, .policy, followLinks: true)
        for name in ["access", "local-host-names", "aliases", "virtusertable", "mailertable", "tls_policy"] {
            audit(directory + "/" + name, .policy)
        }
        if let logins = config.security.senderLoginMap { audit(logins, .policy) }
        for include in includeFiles(directory + "/aliases") { audit(include, .policy, followLinks: true) }
        audit(config.security.saslDbFile, .secret)
        if let key = config.security.tlsKeyFile { audit(key, .secret, followLinks: true) }
        audit(config.smrshDirectory, .program, followLinks: true)
        for entry in DirectoryListing.names(config.smrshDirectory) {
            // root's links are followed by smrsh: judge what they point to too.
            audit(config.smrshDirectory + "/" + entry, .program)
            audit(config.smrshDirectory + "/" + entry, .program, followLinks: true)
        }
        audit(config.safeFileEnvironment, .jail, followLinks: true)
        let unique = problems.reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
        for problem in unique { StandardError.write("postern check: \(problem)\n") }
        return unique.count
    }

    /// The `:include:` files the aliases file names.
    private static func includeFiles(_ path: String) -> [String] {
        guard let text = MapCheck.read(path).text else { return [] }
        let table = AliasesFile.parse(text: text, file: path).0
        return table.names.flatMap { name -> [String] in
            table.entry(named: name)?.targets.compactMap {
                if case .include(let file) = $0 { return file }
                return nil
            } ?? []
        }
    }
}
