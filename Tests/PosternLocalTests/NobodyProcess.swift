import XCTest

#if canImport(Glibc)
    import Glibc
#endif

/// Runs `body` in a forked child that has become nobody (uid and gid 65534,
/// no supplementary groups), as the delivery worker becomes its user, and
/// returns the text the child reported.
///
/// fork rather than seteuid: a program started by the delivery must see a
/// real uid of nobody too. The child only does what the body does and then
/// `_exit`s, so none of the test process's cleanup runs twice.
func runAsNobody(_ body: () -> String) throws -> String {
    try XCTSkipUnless(geteuid() == 0, "needs root to become nobody")
    var ends: [Int32] = [-1, -1]
    guard pipe(&ends) == 0 else { throw MboxTestFailure("pipe: errno \(errno)") }
    let pid = fork()
    guard pid >= 0 else { throw MboxTestFailure("fork: errno \(errno)") }
    if pid == 0 {
        close(ends[0])
        let nobody: UInt32 = 65534
        let report: String
        if setgroups(0, nil) != 0 || setgid(nobody) != 0 || setuid(nobody) != 0 {
            report = "could not become nobody: errno \(errno)"
        } else {
            report = body()
        }
        let bytes = Array(report.utf8)
        var done = 0
        while done < bytes.count {
            let n = bytes[done...].withUnsafeBytes { write(ends[1], $0.baseAddress, $0.count) }
            if n <= 0 { break }
            done += n
        }
        _exit(0)
    }
    close(ends[1])
    defer { close(ends[0]) }
    var report: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = buffer.withUnsafeMutableBytes { read(ends[0], $0.baseAddress, $0.count) }
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { break }
        report.append(contentsOf: buffer[0..<n])
    }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    guard status == 0 else { throw MboxTestFailure("child as nobody ended with wait status \(status)") }
    return String(decoding: report, as: UTF8.self)
}
