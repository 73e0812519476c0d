#if canImport(Glibc)
    import Glibc
#endif

/// Decides whether a parsed command's program may run: it must be in a
/// smrsh directory that only root controls, and be an executable regular
/// file.
///
/// Symbolic links in the directory are followed on purpose: administrators
/// populate smrsh directories with links to the real programs
/// (`vacation -> /usr/bin/vacation`). That is safe because only root can
/// place entries in a directory owned by root and writable by nobody else;
/// what is checked is the file the link finally reaches. The program is then
/// executed by path, so the name is resolved again at exec time; between the
/// check and the exec only root could change what it resolves to.
enum SmrshProgramCheck {
    static func verify(_ command: SmrshCommand, smrshDirectory: String) throws(SmrshRefusal) {
        let directory = open(smrshDirectory, PosternOpenFlags.path | O_DIRECTORY | O_CLOEXEC)
        guard directory >= 0 else {
            let e = errno
            throw .unsafeSmrshDirectory(reason: "cannot open smrsh directory \(smrshDirectory): \(describe(e))")
        }
        defer { _ = close(directory) }
        var info = stat()
        guard fstat(directory, &info) == 0 else {
            throw .unsafeSmrshDirectory(reason: "cannot stat smrsh directory \(smrshDirectory): \(describe(errno))")
        }
        guard info.st_uid == 0 else {
            throw .unsafeSmrshDirectory(reason: "smrsh directory \(smrshDirectory) is owned by uid \(info.st_uid)")
        }
        guard info.st_mode & 0o022 == 0 else {
            throw .unsafeSmrshDirectory(reason: "smrsh directory \(smrshDirectory) is writable by group or others")
        }

        let name = command.program
        var target = stat()
        guard fstatat(directory, name, &target, 0) == 0 else {
            let e = errno
            let reason = e == ENOENT ? "no such program in \(smrshDirectory)" : describe(e)
            throw .programUnavailable(program: name, reason: reason)
        }
        guard target.st_mode & S_IFMT == S_IFREG else {
            throw .programUnavailable(program: name, reason: "not a regular file")
        }
        guard target.st_mode & 0o111 != 0 else {
            throw .programUnavailable(program: name, reason: "not executable")
        }
        // A program anyone may rewrite would run as every user who pipes
        // mail to it: refuse it even though root linked it in.
        guard target.st_mode & 0o022 == 0 else {
            throw .programUnavailable(program: name, reason: "writable by group or others")
        }
        // The worker's real and effective ids are the recipient's, so this
        // asks whether the recipient may execute it.
        guard faccessat(directory, name, X_OK, 0) == 0 else {
            throw .programUnavailable(program: name, reason: "not executable by this user")
        }
    }

    private static func describe(_ code: Int32) -> String {
        guard let text = strerror(code) else { return "errno \(code)" }
        return String(cString: text)
    }
}
