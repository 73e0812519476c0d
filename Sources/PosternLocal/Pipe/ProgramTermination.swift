/// How a delivery program's run ended, as far as the delivery cares.
enum ProgramTermination: Equatable, Sendable {
    /// It exited by itself with this status.
    case exited(Int32)
    /// Something other than our time limit killed it.
    case signaled(Int32)
    /// It ran past the time limit; its process group was killed.
    case timedOut
    /// The spooled message could not be read, so the program was killed
    /// before it could act on a truncated message.
    case inputUnreadable(errno: Int32)
    /// Its status could not be collected: someone else reaped it (SIGCHLD
    /// ignored in this process, or a wait for any child elsewhere).
    case statusLost(errno: Int32)

    /// Decodes a `waitpid` status (the W* macros are not visible to Swift).
    /// Without WUNTRACED a stopped status cannot occur, so anything that is
    /// not a normal exit is a death by signal.
    init(waitStatus: Int32) {
        let signal = waitStatus & 0x7F
        if signal == 0 {
            self = .exited((waitStatus >> 8) & 0xFF)
        } else {
            self = .signaled(signal)
        }
    }
}
