import Glibc
import PosternCore
import PosternIPC

/// The queue's control sockets, made by the master as root in the run
/// directory and handed to the queue process, which serves them. Who may
/// connect is the file system's business, so no process has to trust a
/// claim: `queue.sock` is root:QueueAdminGroup 0660 (every command),
/// `mailq.sock` is 0666 (what PrivacyOptions leaves to everyone: the
/// listing without `restrictmailq`, a queue run without `restrictqrun`).
enum ControlSockets {
    static let adminName = "queue.sock"
    static let publicName = "mailq.sock"
    /// The sendmail command's socket, served by submit: 0666, since every
    /// user may send mail; submit learns who from SO_PEERCRED.
    static let submitName = "submit.sock"
    /// The master's own: `postern status`, `reload`, `stop`;
    /// root:QueueAdminGroup 0660 like queue.sock.
    static let masterName = "control.sock"

    enum Failure: Error, CustomStringConvertible {
        case call(String, path: String, errno: Int32)
        case unknownGroup(String)

        var description: String {
            switch self {
            case .call(let what, let path, let e): return "\(what) \(path): \(String(cString: strerror(e)))"
            case .unknownGroup(let name): return "QueueAdminGroup \(name) does not exist"
            }
        }
    }

    /// Both sockets, each with who may use it.
    static func bind(runDirectory: String, adminGroup: String) throws(Failure) -> [(ControlSocketAccess, Int32)] {
        guard let group = getgrnam(adminGroup) else { throw .unknownGroup(adminGroup) }
        let gid = group.pointee.gr_gid
        let admin = try bind(runDirectory + "/" + adminName, mode: 0o660, gid: gid)
        do {
            let everyone = try bind(runDirectory + "/" + publicName, mode: 0o666, gid: 0)
            return [(.admin, admin), (.everyone, everyone)]
        } catch {
            close(admin)
            throw error
        }
    }

    static func bindSubmit(runDirectory: String) throws(Failure) -> Int32 {
        try bind(runDirectory + "/" + submitName, mode: 0o666, gid: 0)
    }

    /// Non-blocking: the master's poll loop accepts from it.
    static func bindMaster(runDirectory: String, adminGroup: String) throws(Failure) -> Int32 {
        guard let group = getgrnam(adminGroup) else { throw .unknownGroup(adminGroup) }
        let fd = try bind(runDirectory + "/" + masterName, mode: 0o660, gid: group.pointee.gr_gid)
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        return fd
    }

    static func unlinkAll(runDirectory: String) {
        unlink(runDirectory + "/" + adminName)
        unlink(runDirectory + "/" + publicName)
        unlink(runDirectory + "/" + submitName)
        unlink(runDirectory + "/" + masterName)
    }

    private static func bind(_ path: String, mode: mode_t, gid: gid_t) throws(Failure) -> Int32 {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            throw .call("socket path too long:", path: path, errno: ENAMETOOLONG)
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in bytes.enumerated() { raw[index] = byte }
        }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .call("socket for", path: path, errno: errno) }
        unlink(path)  // a socket left by an earlier run
        // Made with no permissions, then opened up exactly: no moment
        // where the socket exists with the umask's mode.
        let previous = umask(0o777)
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        umask(previous)
        guard rc == 0 else {
            let e = errno
            close(fd)
            throw .call("bind", path: path, errno: e)
        }
        guard chown(path, 0, gid) == 0, chmod(path, mode) == 0, listen(fd, 64) == 0 else {
            let e = errno
            close(fd)
            unlink(path)
            throw .call("set up", path: path, errno: e)
        }
        return fd
    }
}
