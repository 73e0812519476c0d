#if canImport(Glibc)
    import Glibc
#endif

/// A started delivery program and our ends of its pipes.
struct RunningProgram {
    let pid: pid_t
    /// Write end of the program's stdin; non-blocking, close-on-exec.
    let stdinFD: Int32
    /// Read end of the program's stderr; non-blocking, close-on-exec.
    let stderrFD: Int32
}

/// Why a program could not be started.
enum ProgramLaunchError: Error, Equatable {
    /// A system call in our process failed (pipe, open of /dev/null...).
    case system(operation: String, errno: Int32)
    /// posix_spawn failed: the exec or a file action in the child, or
    /// process creation itself.
    case spawn(errno: Int32)
    /// This C library lacks a posix_spawn extension we rely on.
    case missingLibraryFunction(String)
}

/// Starts a program directly with posix_spawn: no shell, no fork of this
/// (threaded) process, and nothing inherited that was not chosen here.
///
/// The child gets stdin from a pipe, stdout on /dev/null, stderr into a
/// pipe, and no other descriptor (closefrom 3, whatever the caller left
/// without close-on-exec); an empty signal mask and default dispositions
/// (a worker that ignores SIGPIPE must not pass that on); a process group
/// of its own, so that the time limit can kill everything it started; and
/// the given working directory.
enum ProgramSpawner {
    static func spawn(
        path: String, arguments: [String], environment: [String], workingDirectory: String
    ) throws(ProgramLaunchError) -> RunningProgram {
        guard let addChdir = GlibcSpawnExtensions.addChdir else {
            throw .missingLibraryFunction("posix_spawn_file_actions_addchdir_np")
        }
        guard let addClosefrom = GlibcSpawnExtensions.addClosefrom else {
            throw .missingLibraryFunction("posix_spawn_file_actions_addclosefrom_np")
        }
        let input = try makePipe()
        var childEnds: [Int32] = [input.read]
        var ourEnds: [Int32] = [input.write]
        defer { childEnds.forEach { _ = close($0) } }
        var launched = false
        defer { if !launched { ourEnds.forEach { _ = close($0) } } }

        let errors = try makePipe()
        childEnds.append(errors.write)
        ourEnds.append(errors.read)
        let devNull = open("/dev/null", O_WRONLY | O_CLOEXEC | O_NOCTTY)
        guard devNull >= 0 else { throw .system(operation: "open /dev/null", errno: errno) }
        childEnds.append(devNull)
        // The worker closed its stdin, so a pipe end may have landed on 0,
        // 1 or 2; lifted above them, no dup2 below can overwrite a source
        // that a later dup2 still needs.
        for index in childEnds.indices where childEnds[index] < 3 {
            let lifted = fcntl(childEnds[index], F_DUPFD_CLOEXEC, 3)
            guard lifted >= 0 else { throw .system(operation: "fcntl F_DUPFD_CLOEXEC", errno: errno) }
            _ = close(childEnds[index])
            childEnds[index] = lifted
        }
        for fd in ourEnds {
            let flags = fcntl(fd, F_GETFL)
            guard flags >= 0, fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0 else {
                throw .system(operation: "fcntl O_NONBLOCK", errno: errno)
            }
        }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawn_file_actions_adddup2(&actions, childEnds[0], 0)
        posix_spawn_file_actions_adddup2(&actions, childEnds[2], 1)
        posix_spawn_file_actions_adddup2(&actions, childEnds[1], 2)
        let closefromResult = addClosefrom(&actions, 3)
        guard closefromResult == 0 else { throw .system(operation: "closefrom action", errno: closefromResult) }
        let chdirResult = addChdir(&actions, workingDirectory)
        guard chdirResult == 0 else { throw .system(operation: "chdir action", errno: chdirResult) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        var allSignals = sigset_t()
        sigfillset(&allSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(
            &attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP))

        let argv = arguments.map { strdup($0) }
        let envp = environment.map { strdup($0) }
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, path, &actions, &attributes, argv + [nil], envp + [nil])
        guard rc == 0 else { throw .spawn(errno: rc) }
        launched = true
        return RunningProgram(pid: pid, stdinFD: input.write, stderrFD: errors.read)
    }

    /// pipe2 is hidden from Swift; the flag is set right after. A program
    /// spawned by another thread in between would get the descriptor only if
    /// that spawner kept descriptors, which none in Postern does.
    private static func makePipe() throws(ProgramLaunchError) -> (read: Int32, write: Int32) {
        var ends: [Int32] = [-1, -1]
        guard pipe(&ends) == 0 else { throw .system(operation: "pipe", errno: errno) }
        for fd in ends where fcntl(fd, F_SETFD, FD_CLOEXEC) != 0 {
            let e = errno
            ends.forEach { _ = close($0) }
            throw .system(operation: "fcntl FD_CLOEXEC", errno: e)
        }
        return (ends[0], ends[1])
    }
}

/// glibc's posix_spawn extensions (2.29 and 2.34), which Swift's Glibc
/// module hides behind `_GNU_SOURCE`; looked up once by symbol name.
private enum GlibcSpawnExtensions {
    typealias AddChdir =
        @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?, UnsafePointer<CChar>?) -> Int32
    typealias AddClosefrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?, Int32) -> Int32

    static let addChdir: AddChdir? = dlsym(nil, "posix_spawn_file_actions_addchdir_np").map {
        unsafeBitCast($0, to: AddChdir.self)
    }
    static let addClosefrom: AddClosefrom? = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np").map {
        unsafeBitCast($0, to: AddClosefrom.self)
    }
}
