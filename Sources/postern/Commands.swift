import ArgumentParser
import Glibc
import PosternCore
import PosternListener
import PosternLocal
import PosternMaster

struct PosternCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "postern",
        abstract: "A privilege-separated mail transfer agent.",
        version: "postern \(PosternVersion.current)",
        subcommands: [
            Daemon.self, Check.self, Status.self, Reload.self, Stop.self, Queue.self, Mailq.self, Newaliases.self,
            LogReviewCommand.self,
        ])
}

struct ConfigOption: ParsableArguments {
    /// $POSTERN_CONFIG, else the installed file: what `sendmail`, `mailq`
    /// and `newaliases` run by other programs find without a flag.
    static var defaultPath: String {
        getenv("POSTERN_CONFIG").map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 }
            ?? "/etc/postern/postern.conf"
    }

    @Option(
        name: .shortAndLong, help: "The configuration file (default: $POSTERN_CONFIG or /etc/postern/postern.conf).")
    var config: String = ConfigOption.defaultPath
}

struct Daemon: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the mail system (as root, in the foreground).")

    @OptionGroup var options: ConfigOption

    @Flag(name: .short, help: "Log to standard error instead of the configured log.")
    var debug = false

    func run() throws {
        switch ConfigLoader.load(path: options.config) {
        case .failure(let errors):
            StandardError.write("\(errors)\n")
            throw ExitCode(1)
        case .success(let config):
            let status = Master(configPath: options.config, config: config, debug: debug, roles: supervisedRoles).run()
            throw ExitCode(status)
        }
    }
}

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check the configuration and print the effective one.")

    @OptionGroup var options: ConfigOption

    func run() throws {
        switch ConfigLoader.load(path: options.config) {
        case .failure(let errors):
            StandardError.write("\(errors)\n")
            throw ExitCode(1)
        case .success(let config):
            print(config.render(), terminator: "")
            // What each process would run as and may touch, from the
            // role manifests, with this configuration's paths.
            print("# Processes:")
            for manifest in supervisedRoles + [LocalWorkerRole.manifest] {
                print("#   \(manifest.describe(in: config))")
            }
            // The maps: a line with an error is ignored by the daemon, so
            // check says so and fails.
            let mapErrors = MapCheck.checkAll(config) + FileAudit.run(config, configPath: options.config)
            // The certificate and key: an expired, not-yet-valid or
            // soon-expiring certificate, or a key that does not match it.
            guard let chain = config.security.tlsCertificateFile, let key = config.security.tlsKeyFile else {
                if mapErrors > 0 { throw ExitCode(1) }
                return
            }
            let problems = TLSCertificateCheck.problems(chain: chain, key: key, now: time(nil))
            for problem in problems { StandardError.write("postern check: \(problem)\n") }
            if problems.contains(where: { $0.severity == .error }) || mapErrors > 0 { throw ExitCode(1) }
        }
    }
}
