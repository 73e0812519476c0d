import CShims
import Glibc
import PosternCore

/// Re-executes this binary as a child role (docs/privilege-drop.md, "Spawning a child"): never a bare
/// fork() of a threaded Swift process. The child sees exactly the
/// descriptors in `descriptors` (index = descriptor number, -1 = closed)
/// and nothing else, an empty signal mask and default dispositions.
public enum ChildSpawn {
    public static let selfExecutable = "/proc/self/exe"

    public static func spawn(role: Role, arguments: [String], descriptors: [Int32]) throws(PrivilegeError) -> pid_t {
        let argv = ["postern", Role.childArgument, role.rawValue] + arguments
        // A fixed, minimal environment: nothing from the caller leaks in.
        let env = ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8"]
        var pid: pid_t = 0
        let rc = withCStrings(argv) { cargv in
            withCStrings(env) { cenv in
                descriptors.withUnsafeBufferPointer { fds in
                    pst_spawn(selfExecutable, cargv, cenv, fds.baseAddress, Int32(fds.count), &pid)
                }
            }
        }
        guard rc == 0 else { throw .call("posix_spawn \(role.rawValue)", errno: rc) }
        return pid
    }

    private static func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R)
        -> R
    {
        var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
        pointers.append(nil)
        defer { pointers.forEach { free($0) } }
        return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
    }

    /// A SOCK_SEQPACKET socketpair, both ends close-on-exec.
    public static func socketPair() throws(PrivilegeError) -> (Int32, Int32) {
        var fds: [Int32] = [-1, -1]
        guard pst_socketpair_seqpacket(&fds) == 0 else { throw .call("socketpair", errno: errno) }
        return (fds[0], fds[1])
    }
}
