import ArgumentParser
import Glibc
import PosternCore

/// `postern queue COMMAND [ID]`: talks to the queue process through the
/// control sockets in RunDirectory; the admin socket if this user may open
/// it (root, QueueAdminGroup), otherwise the public one, which allows what
/// PrivacyOptions leaves to everyone.
struct Queue: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List and control the mail queue.",
        discussion: "COMMAND: list | count | show ID | flush [ID] | hold ID | release ID | delete ID")

    @OptionGroup var options: ConfigOption
    @Argument(help: "The command.") var command: String
    @Argument(help: "A queue id.") var id: String?

    func run() throws {
        let line = ([command] + (id.map { [$0] } ?? [])).joined(separator: " ")
        try QueueClient.send(line, configPath: options.config)
    }
}

/// `postern mailq`: the queue listing, as Sendmail's mailq prints it.
struct Mailq: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the mail queue (postern queue list).")

    @OptionGroup var options: ConfigOption

    func run() throws { try QueueClient.send("list", configPath: options.config) }
}

enum QueueClient {
    static func send(_ line: String, configPath: String) throws {
        let config: PosternConfig
        switch ConfigLoader.load(path: configPath) {
        case .failure(let errors):
            StandardError.write("\(errors)\n")
            throw ExitCode(1)
        case .success(let loaded): config = loaded
        }
        var fd: Int32 = -1
        var lastError: Int32 = 0
        for name in ["queue.sock", "mailq.sock"] {
            fd = connectUnix(config.runDirectory + "/" + name)
            if fd >= 0 { break }
            lastError = errno
        }
        guard fd >= 0 else {
            if lastError == ENOENT || lastError == ECONNREFUSED {
                StandardError.write(
                    "postern: the mail daemon is not running (nothing listens in \(config.runDirectory)); the queue cannot be read\n"
                )
            } else {
                StandardError.write(
                    "postern: cannot reach the queue in \(config.runDirectory): \(String(cString: strerror(lastError)))\n"
                )
            }
            throw ExitCode(1)
        }
        defer { close(fd) }
        guard let text = exchange(line, on: fd) else {
            StandardError.write("postern: cannot send the command: \(String(cString: strerror(errno)))\n")
            throw ExitCode(1)
        }
        if text.hasPrefix("error:") {
            StandardError.write("postern: " + text)
            throw ExitCode(1)
        }
        print(text, terminator: "")
    }

    /// One command line sent, the whole answer read (the server closes).
    static func exchange(_ line: String, on fd: Int32) -> String? {
        let request = Array((line + "\n").utf8)
        guard write(fd, request, request.count) == request.count else { return nil }
        var answer: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = read(fd, &buffer, buffer.count)
            if n <= 0 { break }
            answer.append(contentsOf: buffer[0..<n])
        }
        return String(decoding: answer, as: UTF8.self)
    }

    static func connectUnix(_ path: String) -> Int32 {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            errno = ENAMETOOLONG
            return -1
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in bytes.enumerated() { raw[index] = byte }
        }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return -1 }
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        if rc != 0 {
            let e = errno
            close(fd)
            errno = e
            return -1
        }
        return fd
    }
}
