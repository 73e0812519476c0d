extension PipeDeliveryOutcome {
    /// Maps the end of a run to the queue's verdict, Sendmail's way.
    ///
    /// Exit codes follow <sysexits.h> as Sendmail reads them: 0 delivers;
    /// EX_TEMPFAIL, and also EX_OSERR and EX_IOERR (which Sendmail queues
    /// for retry, answering 451 4.0.0), defer; any other status fails
    /// permanently, with the code from Sendmail's table where it has one
    /// (EX_NOPERM as 5.7.1, the code that says "not allowed"). A program
    /// killed by a signal or by the time limit defers: it may have died for
    /// reasons that pass (OOM killer, a hung NFS home), and the time limit
    /// protects the worker, not a verdict on the message.
    init(program: String, termination: ProgramTermination, stderr: [UInt8], timeLimit: Duration) {
        let said = ProgramDiagnostics.oneLine(stderr).map { ": " + $0 } ?? ""
        switch termination {
        case .exited(0):
            self = .delivered("delivered to program \(program)")
        case .exited(let code):
            let name = Self.sysexits[code].map { " (\($0.name))" } ?? ""
            let detail = "program \(program) exited with status \(code)\(name)\(said)"
            switch Self.sysexits[code] {
            case .some(let entry) where entry.code.hasPrefix("4."):
                self = .deferred(entry.code, detail)
            case .some(let entry):
                self = .failed(entry.code, detail)
            case .none:
                self = .failed("5.3.0", detail)
            }
        case .signaled(let signal):
            self = .deferred("4.3.0", "program \(program) was killed by signal \(signal)\(said)")
        case .timedOut:
            let seconds = timeLimit.components.seconds
            self = .deferred("4.3.0", "program \(program) was killed after the time limit of \(seconds) s\(said)")
        case .inputUnreadable(let errno):
            self = .deferred("4.3.0", "reading the message for program \(program) failed (errno \(errno))")
        case .statusLost(let errno):
            self = .deferred("4.3.0", "exit status of program \(program) was lost (errno \(errno))")
        }
    }

    /// Sendmail's sysexits table (libsm `sm_sysexmsg`), EX_NOPERM excepted.
    private static let sysexits: [Int32: (name: String, code: String)] = [
        64: ("EX_USAGE", "5.0.0"),
        65: ("EX_DATAERR", "5.6.0"),
        66: ("EX_NOINPUT", "5.3.0"),
        67: ("EX_NOUSER", "5.1.1"),
        68: ("EX_NOHOST", "5.1.2"),
        69: ("EX_UNAVAILABLE", "5.0.0"),
        70: ("EX_SOFTWARE", "5.3.0"),
        71: ("EX_OSERR", "4.0.0"),
        72: ("EX_OSFILE", "5.3.5"),
        73: ("EX_CANTCREAT", "5.0.0"),
        74: ("EX_IOERR", "4.0.0"),
        75: ("EX_TEMPFAIL", "4.0.0"),
        76: ("EX_PROTOCOL", "5.5.0"),
        77: ("EX_NOPERM", "5.7.1"),
        78: ("EX_CONFIG", "5.3.5"),
    ]
}
