#if canImport(Glibc)
    import Glibc
#endif

/// Delivers a message to a `|command` from an alias or `.forward`, the way
/// smrsh would allow it, without any shell.
///
/// Runs in the per-user worker, which has already become the recipient
/// (uid, gid, groups; no capabilities; no_new_privs), so the program runs
/// as the recipient and cannot gain privileges by exec. What this adds is
/// the rest of the containment: only programs from the smrsh directory,
/// argv from plain words only, envelope data only in the environment, a
/// clean descriptor table and environment, and a time limit over the
/// program's whole process group.
///
/// Preconditions in the calling process: SIGCHLD not set to SIG_IGN and no
/// one else reaping children (or the exit status is lost and the delivery
/// deferred). SIGPIPE's disposition does not matter.
public enum PipeDelivery {
    public struct Options: Sendable {
        /// Longest a program may run before its process group is killed and
        /// the delivery deferred. The worker delivers for its user one
        /// message at a time, so this also bounds how long a hung filter
        /// holds up that user's other mail.
        public var timeLimit: Duration

        public init(timeLimit: Duration = .seconds(300)) {
            self.timeLimit = timeLimit
        }
    }

    /// - Parameters:
    ///   - command: the text after `|` (the `|` itself may be included).
    ///   - smrshDirectory: absolute path of the directory of allowed programs.
    ///   - context: the values exported to the program's environment.
    ///   - messageFD: read-only descriptor of the spooled message (CR LF line
    ///     ends); read with pread from offset 0, its offset is untouched.
    ///   - extraHeaders: header lines put before the message, without line
    ///     ends (e.g. "Return-Path: <s@x>").
    /// - Returns: the verdict; never throws, since every failure is either a
    ///   bounce or a retry for the queue.
    public static func deliver(
        command: String, smrshDirectory: String, context: PipeDeliveryContext, messageFD: Int32,
        extraHeaders: [String], options: Options = Options()
    ) -> PipeDeliveryOutcome {
        let parsed: SmrshCommand
        do throws(SmrshRefusal) {
            parsed = try SmrshCommand(parsing: command, smrshDirectory: smrshDirectory)
            try SmrshProgramCheck.verify(parsed, smrshDirectory: smrshDirectory)
        } catch {
            return .refused(error)
        }
        let headers: [UInt8]
        do {
            headers = try MboxPreamble.headerLines(extraHeaders)
        } catch {
            return .failed("5.3.0", "cannot pass headers to program \(parsed.program): \(error)")
        }
        guard let environment = context.environment else {
            return .failed("5.3.0", "cannot pass a value containing NUL to program \(parsed.program)")
        }

        let program: RunningProgram
        do throws(ProgramLaunchError) {
            program = try ProgramSpawner.spawn(
                path: parsed.path, arguments: parsed.arguments, environment: environment,
                workingDirectory: workingDirectory(home: context.home))
        } catch {
            return launchFailure(error, program: parsed.program)
        }
        var input = ProgramInput(headers: headers, messageFD: messageFD)
        let report = ProgramSupervisor.supervise(program, input: &input, timeLimit: options.timeLimit)
        return PipeDeliveryOutcome(
            program: parsed.program, termination: report.termination, stderr: report.stderr,
            timeLimit: options.timeLimit)
    }

    /// The home if the recipient can enter it, else "/": a program must not
    /// fail just because a home is missing, and must not inherit the
    /// worker's directory.
    private static func workingDirectory(home: String) -> String {
        guard home.hasPrefix("/"), !home.utf8.contains(0) else { return "/" }
        let fd = open(home, PosternOpenFlags.path | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return "/" }
        _ = close(fd)
        return access(home, X_OK) == 0 ? home : "/"
    }

    /// An exec that cannot work (missing, not executable, bad format) is the
    /// same permanent "not available" as a refusal; running short of
    /// processes, memory or descriptors passes, so it defers.
    private static func launchFailure(_ error: ProgramLaunchError, program: String) -> PipeDeliveryOutcome {
        switch error {
        case .spawn(let e) where [ENOENT, EACCES, ENOEXEC, ELOOP, ENOTDIR, EISDIR, EPERM].contains(e):
            return .refused(.programUnavailable(program: program, reason: "cannot execute: errno \(e)"))
        case .spawn(let e):
            return .deferred("4.3.0", "cannot start program \(program): errno \(e)")
        case .system(let operation, let e):
            return .deferred("4.3.0", "cannot start program \(program): \(operation): errno \(e)")
        case .missingLibraryFunction(let name):
            return .deferred("4.3.0", "cannot start program \(program): C library lacks \(name)")
        }
    }
}
