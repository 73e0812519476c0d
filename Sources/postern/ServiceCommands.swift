import ArgumentParser
import Glibc
import PosternCore

/// `postern status`, `reload`, `stop`: one line to the master's control
/// socket (RunDirectory/control.sock, root and QueueAdminGroup), its text
/// answer printed. `status` adds the queue's counts.
enum MasterClient {
    /// `quiet`: failures are thrown without a word (the caller has another way).
    static func ask(_ line: String, configPath: String, quiet: Bool = false) throws -> String {
        func say(_ text: String) { if !quiet { StandardError.write(text) } }
        let config: PosternConfig
        switch ConfigLoader.load(path: configPath) {
        case .failure(let errors):
            say("\(errors)\n")
            throw ExitCode(1)
        case .success(let loaded): config = loaded
        }
        let path = config.runDirectory + "/control.sock"
        let fd = QueueClient.connectUnix(path)
        guard fd >= 0 else {
            let why = errno
            if why == ENOENT || why == ECONNREFUSED {
                say("postern: the mail daemon is not running (nothing listens on \(path))\n")
                throw ExitCode(3)
            }
            say("postern: cannot reach the daemon at \(path): \(String(cString: strerror(why)))\n")
            throw ExitCode(why == EACCES ? 4 : 1)
        }
        defer { close(fd) }
        guard let text = QueueClient.exchange(line, on: fd) else {
            say("postern: cannot send the command: \(String(cString: strerror(errno)))\n")
            throw ExitCode(1)
        }
        if text.hasPrefix("error:") {
            say("postern: " + text)
            throw ExitCode(1)
        }
        return text
    }
}

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the daemon's processes (from /proc), its sockets, configuration and queue.",
        discussion: "Exit status 3 when the daemon is not running, 4 when this user may not ask it.")

    @OptionGroup var options: ConfigOption

    func run() throws {
        print(try MasterClient.ask("status", configPath: options.config), terminator: "")
        print("")
        try? QueueClient.send("count", configPath: options.config)
    }
}

struct Reload: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Reload the configuration (as SIGHUP does) and say what it came to.")

    @OptionGroup var options: ConfigOption

    func run() throws {
        // A file that does not load would be refused by the daemon too;
        // say so here (the daemon's socket is named in that very file).
        if case .failure(let errors) = ConfigLoader.load(path: options.config) {
            StandardError.write("postern: reload refused, the daemon keeps its running configuration:\n\(errors)\n")
            throw ExitCode(1)
        }
        print(try MasterClient.ask("reload", configPath: options.config), terminator: "")
    }
}

struct Stop: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Stop the daemon (as SIGTERM does): sessions and deliveries finish first.")

    @OptionGroup var options: ConfigOption

    func run() throws { print(try MasterClient.ask("stop", configPath: options.config), terminator: "") }
}
