import ArgumentParser
import Glibc
import LocalSubmission
import PosternCore

/// `sendmail` (the binary run by that name) and `postern sendmail`: Sendmail's
/// command line, for every program that sends mail through it. The message
/// goes into the drop directory and submit is asked to take it; with the
/// daemon down it stays there until the daemon starts. Exit codes are
/// sysexits.h's.
enum SendmailCommand {
    static func run(_ arguments: [String]) -> Never {
        let invocation: SendmailInvocation
        do {
            invocation = try SendmailArguments.parse(arguments)
        } catch {
            StandardError.write("\(error)\n\(SendmailArguments.usage)\n")
            exit(SysExits.usage.rawValue)
        }
        for note in invocation.notes { StandardError.write("\(note)\n") }
        let configPath = invocation.configFile ?? ConfigOption.defaultPath
        switch invocation.mode {
        case .daemon:
            StandardError.write("sendmail: -bd: this command does not become a daemon; run `postern daemon`\n")
            exit(SysExits.usage.rawValue)
        case .printQueue:
            PosternCommand.main(["mailq", "--config", configPath])
            exit(SysExits.ok.rawValue)
        case .rebuildAliases:
            PosternCommand.main(["newaliases", "--config", configPath])
            exit(SysExits.ok.rawValue)
        case .runQueue(let selection):
            exit(SendmailQueueRun.run(selection, configPath: configPath))
        case .verify, .deliver, .smtpSession:
            break
        }
        let config: PosternConfig
        switch ConfigLoader.load(path: configPath) {
        case .failure(let errors):
            StandardError.write("sendmail: \(errors)\n")
            exit(SysExits.config.rawValue)
        case .success(let loaded): config = loaded
        }
        if invocation.mode == .verify { exit(verify(invocation, config: config)) }
        if invocation.mode == .smtpSession {
            var session = SendmailSession(config: config)
            exit(session.run())
        }
        exit(deliver(invocation, config: config))
    }

    private static func deliver(_ invocation: SendmailInvocation, config: PosternConfig) -> Int32 {
        guard invocation.extractRecipients || !invocation.recipients.isEmpty else {
            StandardError.write("sendmail: no recipients given (name them, or use -t to read them from the header)\n")
            return SysExits.usage.rawValue
        }
        let name: DropFileName
        switch DropWriter.write(invocation, config: config) {
        case .success(let written): name = written
        case .failure(.data(let error)):
            StandardError.write("sendmail: message refused: \(error); nothing was sent\n")
            return SysExits.dataErr.rawValue
        case .failure(let failure):
            StandardError.write("sendmail: \(failure); nothing was sent\n")
            return SysExits.tempFail.rawValue
        }
        guard var client = SubmitClient.connect(runDirectory: config.runDirectory) else {
            if invocation.verbose {
                StandardError.write(
                    "sendmail: the mail daemon is not running; the message waits in \(config.dropDirectory) until it starts\n"
                )
            }
            return SysExits.ok.rawValue
        }
        defer { client.close() }
        guard let reply = client.ask(.submit(name)) else {
            if invocation.verbose {
                StandardError.write("sendmail: no answer from the daemon; the message waits for its next pickup\n")
            }
            return SysExits.ok.rawValue
        }
        return report(reply, invocation: invocation)
    }

    /// What submit said, as the error mode asks, and the exit code. Under
    /// -oem/-oee the refused recipients were committed as failed and the
    /// queue bounces them to the sender: nothing to print, exit 0.
    static func report(_ reply: SMTPReply, invocation: SendmailInvocation) -> Int32 {
        let refused = reply.additionalLines.filter { $0.hasPrefix("<") }
        let mailed = invocation.errorMode == .mail || invocation.errorMode == .mailAndExitZero
        let quiet = invocation.errorMode == .quiet || (mailed && reply.isPositive)
        if invocation.verbose || (!quiet && reply.isPermanentFailure) {
            StandardError.write("sendmail: \(reply.code) \(reply.enhanced) \(reply.text)\n")
        }
        if !quiet || invocation.verbose {
            let note = mailed && reply.isPositive ? " (the sender gets a bounce)" : ""
            for line in refused { StandardError.write("sendmail: \(line)\(note)\n") }
        }
        if reply.isTransientFailure {
            // The file is kept and picked up again: the message is queued.
            return SysExits.ok.rawValue
        }
        if mailed && reply.isPositive { return SysExits.ok.rawValue }
        if reply.isPermanentFailure || !refused.isEmpty {
            if invocation.errorMode == .mailAndExitZero { return SysExits.ok.rawValue }
            // A refused recipient's own status says more than "no valid recipients".
            return exitCode(for: refused.first.flatMap(enhancedStatus) ?? reply.enhanced)
        }
        return SysExits.ok.rawValue
    }

    private static func enhancedStatus(_ line: String) -> String? {
        // "<addr>: 550 5.1.1 text"
        let words = line.split(separator: " ")
        return words.count >= 3 ? String(words[2]) : nil
    }

    static func exitCode(for enhanced: String) -> Int32 {
        if enhanced.hasPrefix("5.1.") { return SysExits.noUser.rawValue }
        if enhanced.hasPrefix("5.6.") || enhanced.hasPrefix("5.3.4") { return SysExits.dataErr.rawValue }
        if enhanced.hasPrefix("5.7.") { return SysExits.noPerm.rawValue }
        return SysExits.unavailable.rawValue
    }

    /// -bv: each address as the daemon resolves it; nothing is sent.
    private static func verify(_ invocation: SendmailInvocation, config: PosternConfig) -> Int32 {
        guard !invocation.recipients.isEmpty else {
            StandardError.write("sendmail: -bv needs addresses to verify\n")
            return SysExits.usage.rawValue
        }
        guard var client = SubmitClient.connect(runDirectory: config.runDirectory) else {
            StandardError.write("sendmail: -bv asks the mail daemon, which is not running\n")
            return SysExits.tempFail.rawValue
        }
        defer { client.close() }
        var status = SysExits.ok.rawValue
        for address in invocation.recipients {
            guard let reply = client.ask(.verify(address)) else {
                StandardError.write("sendmail: no answer from the daemon\n")
                return SysExits.tempFail.rawValue
            }
            if reply.isPositive {
                for line in reply.lines { print(line) }
            } else {
                print("\(address)... \(reply.text)")
                if status == SysExits.ok.rawValue {
                    status = reply.isTransientFailure ? SysExits.tempFail.rawValue : exitCode(for: reply.enhanced)
                }
            }
        }
        return status
    }
}

/// -q and its selectors: a queue run through the control sockets, under
/// restrictqrun as `postern queue flush` is. -qI, -qR and -qS select by
/// substrings of the queue id, a pending recipient and the sender.
enum SendmailQueueRun {
    static func run(_ selection: QueueRunSelection, configPath: String) -> Int32 {
        let words =
            selection.queueIDs.map { "id:\($0)" } + selection.recipients.map { "rcpt:\($0)" }
            + selection.senders.map { "from:\($0)" }
        guard words.allSatisfy({ !$0.contains(" ") && $0.utf8.count <= 200 }) else {
            StandardError.write("sendmail: a queue selection may not contain spaces\n")
            return SysExits.usage.rawValue
        }
        let line = selection.selectsAll ? "flush" : (["flush-where"] + words).joined(separator: " ")
        do {
            try QueueClient.send(line, configPath: configPath)
            return SysExits.ok.rawValue
        } catch {
            return SysExits.noPerm.rawValue
        }
    }
}
