#if canImport(Glibc)
    import Glibc
#endif

/// Runs a started program to its end: feeds its stdin, drains its stderr,
/// and enforces the time limit, all from the calling thread with poll.
///
/// Both pipes are serviced together because either can block the program:
/// one that writes a lot of diagnostics before reading its input would wait
/// forever on a full stderr pipe while we waited on a full stdin pipe.
///
/// Exit is noticed by polling waitpid(WNOHANG) between short poll waits:
/// SIGCHLD handling belongs to the caller, and waiting on the pipes alone
/// is not enough (a program may close both and keep running, or leave a
/// child holding them). The caller must not reap children with
/// `waitpid(-1)` elsewhere, or the status is lost (reported as such).
enum ProgramSupervisor {
    struct Report {
        let termination: ProgramTermination
        /// The first `ProgramDiagnostics.capturedBytes` bytes of stderr.
        let stderr: [UInt8]
    }

    /// Longest single wait between exit checks.
    private static let tickMilliseconds: Int32 = 20
    /// Upper bound on stderr read after the program ended, in case something
    /// that escaped its process group keeps writing into the pipe.
    private static let drainAfterExitLimit = 1 << 20

    static func supervise(_ program: RunningProgram, input: inout ProgramInput, timeLimit: Duration) -> Report {
        let deadline = MboxSystem.Deadline(after: timeLimit)
        var sigpipe = SigpipeGuard()
        defer { sigpipe.restore() }
        var stdinFD: Int32? = program.stdinFD
        var stderrFD: Int32? = program.stderrFD
        var stderr = StderrCapture()
        defer {
            if let fd = stdinFD { _ = close(fd) }
            if let fd = stderrFD { _ = close(fd) }
        }

        var termination: ProgramTermination?
        while termination == nil {
            if let ended = reap(program.pid, blocking: false) {
                termination = ended
                break
            }
            if deadline.hasPassed {
                termination = killGroup(of: program.pid, because: .timedOut)
                break
            }
            var fds: [pollfd] = []
            if let fd = stdinFD { fds.append(pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)) }
            if let fd = stderrFD { fds.append(pollfd(fd: fd, events: Int16(POLLIN), revents: 0)) }
            let wait = min(Int64(tickMilliseconds), Int64(deadline.remainingNanoseconds / 1_000_000) + 1)
            _ = poll(&fds, nfds_t(fds.count), Int32(wait))  // EINTR or timeout: loop and look again

            for entry in fds where entry.revents != 0 {
                if entry.fd == stdinFD {
                    switch feed(entry.fd, from: &input, sigpipe: &sigpipe) {
                    case .blocked:
                        break
                    case .finished:
                        // EOF for the program: it has the whole message, or
                        // stopped reading (its exit status decides).
                        _ = close(entry.fd)
                        stdinFD = nil
                    case .unreadable(let e):
                        termination = killGroup(of: program.pid, because: .inputUnreadable(errno: e))
                    }
                } else if entry.fd == stderrFD, !stderr.drain(entry.fd, limit: nil) {
                    _ = close(entry.fd)
                    stderrFD = nil
                }
            }
        }
        if let fd = stderrFD {
            _ = stderr.drain(fd, limit: drainAfterExitLimit)
        }
        return Report(termination: termination ?? .statusLost(errno: 0), stderr: stderr.head)
    }

    private enum FeedResult {
        case blocked
        case finished
        case unreadable(Int32)
    }

    /// Writes until the pipe is full, the input is done, or the program
    /// closed its stdin (EPIPE: not an error; its exit status decides).
    private static func feed(_ fd: Int32, from input: inout ProgramInput, sigpipe: inout SigpipeGuard) -> FeedResult {
        while true {
            let bytes: ArraySlice<UInt8>
            switch input.pending() {
            case .success(let next): bytes = next
            case .failure(let e): return .unreadable(e)
            }
            if bytes.isEmpty { return .finished }
            let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if written > 0 {
                input.consume(written)
                continue
            }
            let e = errno
            switch e {
            case EINTR: continue
            case EAGAIN: return .blocked
            case EPIPE:
                sigpipe.noteBrokenPipe()
                return .finished
            default:
                return .finished
            }
        }
    }

    /// The program's termination if it has ended (reaping it), nil while it
    /// runs.
    private static func reap(_ pid: pid_t, blocking: Bool) -> ProgramTermination? {
        var status: Int32 = 0
        while true {
            let rc = waitpid(pid, &status, blocking ? 0 : WNOHANG)
            if rc == pid { return ProgramTermination(waitStatus: status) }
            if rc == 0 { return nil }
            let e = errno
            if e != EINTR { return .statusLost(errno: e) }
        }
    }

    /// SIGKILL to the program's whole process group, then its status.
    ///
    /// The program is not reaped yet when this is called, so its pid, which
    /// is the group id, cannot have been reused. A program that managed to
    /// exit on its own just before the time limit keeps its own status; one
    /// cut off from its input is reported as such whatever it said, since
    /// it saw a truncated message.
    private static func killGroup(of pid: pid_t, because reason: ProgramTermination) -> ProgramTermination {
        _ = kill(-pid, SIGKILL)
        let ended = reap(pid, blocking: true) ?? .statusLost(errno: 0)
        switch (reason, ended) {
        case (.timedOut, .exited), (_, .statusLost): return ended
        default: return reason
        }
    }
}

/// Keeps the head of the program's stderr and throws the rest away.
private struct StderrCapture {
    private(set) var head: [UInt8] = []
    private var scratch = [UInt8](repeating: 0, count: 4096)

    /// Reads what is available without blocking. False at end of file (or
    /// on an error, which ends reading the same way); true when the pipe is
    /// merely empty for now or `limit` bytes were read.
    mutating func drain(_ fd: Int32, limit: Int?) -> Bool {
        var total = 0
        while limit.map({ total < $0 }) ?? true {
            let count = scratch.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count > 0 {
                total += count
                let room = ProgramDiagnostics.capturedBytes - head.count
                if room > 0 { head.append(contentsOf: scratch[0..<min(room, count)]) }
                continue
            }
            if count < 0 && errno == EINTR { continue }
            if count < 0 && errno == EAGAIN { return true }
            return false
        }
        return true
    }
}
