import CCap
import CShims
import Glibc
import PosternCore

public enum PrivilegeError: Error, CustomStringConvertible, Sendable {
    case unknownUser(String)
    case unknownGroup(String)
    case call(String, errno: Int32)
    /// Another thread exists: it would keep root's credentials and
    /// capabilities after this one drops them (they are per thread).
    case notSingleThreaded(threads: Int)

    public var description: String {
        switch self {
        case .unknownUser(let u): return "unknown user \"\(u)\" (run scripts/setup-jail)"
        case .unknownGroup(let g): return "unknown group \"\(g)\" (run scripts/setup-jail)"
        case .call(let what, let e): return "\(what): \(String(cString: strerror(e)))"
        case .notSingleThreaded(let n):
            return "\(n) threads before the privilege drop: a thread started too early would keep root's privileges"
        }
    }
}

/// A resolved system account. Resolved before the chroot: inside one,
/// getpwnam finds nothing.
public struct SystemAccount: Sendable, Equatable {
    public var name: String
    public var uid: uid_t
    public var gid: gid_t
    public var home: String

    public init(name: String, uid: uid_t, gid: gid_t, home: String) {
        self.name = name
        self.uid = uid
        self.gid = gid
        self.home = home
    }

    public static func lookup(_ name: String) throws(PrivilegeError) -> SystemAccount {
        guard let pw = getpwnam(name) else { throw .unknownUser(name) }
        return SystemAccount(
            name: name, uid: pw.pointee.pw_uid, gid: pw.pointee.pw_gid, home: String(cString: pw.pointee.pw_dir))
    }

    public static func groupID(_ name: String) throws(PrivilegeError) -> gid_t {
        guard let gr = getgrnam(name) else { throw .unknownGroup(name) }
        return gr.pointee.gr_gid
    }

    /// The account's supplementary groups, as the system's group database lists them.
    public func supplementaryGroups() -> [gid_t] {
        var count: Int32 = 64
        var groups = [gid_t](repeating: 0, count: Int(count))
        if getgrouplist(name, gid, &groups, &count) < 0 {
            groups = [gid_t](repeating: 0, count: Int(count))
            if getgrouplist(name, gid, &groups, &count) < 0 { return [gid] }
        }
        return Array(groups.prefix(Int(count)))
    }
}

extension Capability {
    /// libcap's number for it.
    public var value: cap_value_t {
        switch self {
        case .setuid: return cap_value_t(CAP_SETUID)
        case .setgid: return cap_value_t(CAP_SETGID)
        case .sysChroot: return cap_value_t(CAP_SYS_CHROOT)
        case .dacReadSearch: return cap_value_t(CAP_DAC_READ_SEARCH)
        case .chown: return cap_value_t(CAP_CHOWN)
        }
    }
}

/// The one privilege drop every child performs, in the order that works on
/// Linux (docs/privilege-drop.md, "The drop sequence"), while the process is still single-threaded:
/// capabilities and no_new_privs are per thread.
public struct PrivilegeDrop {
    /// nil: keep the current uid (the local process stays uid 0).
    public var account: SystemAccount?
    /// Supplementary groups after the drop; empty for the Postern system users.
    public var groups: [gid_t]
    /// nil: no chroot.
    public var chrootDirectory: String?
    /// Capabilities kept in the permitted and effective sets (and bounding set).
    public var keep: [cap_value_t]
    /// Whether the bounding set can and should be reduced (needs CAP_SETPCAP).
    public var dropBoundingSet: Bool

    public init(
        account: SystemAccount?, groups: [gid_t] = [], chrootDirectory: String?, keep: [cap_value_t] = [],
        dropBoundingSet: Bool = true
    ) {
        self.account = account
        self.groups = groups
        self.chrootDirectory = chrootDirectory
        self.keep = keep
        self.dropBoundingSet = dropBoundingSet
    }

    /// Entries of /proc/self/task (before the chroot /proc is there; if it
    /// is not, nothing can be counted and 1 is assumed).
    static func threadCount() -> Int {
        guard let dir = opendir("/proc/self/task") else { return 1 }
        defer { closedir(dir) }
        var count = 0
        while let entry = readdir(dir) {
            if entry.pointee.d_name.0 != 0x2E { count += 1 }  // not "." or ".."
        }
        return count
    }

    public func apply() throws(PrivilegeError) {
        let threads = Self.threadCount()
        guard threads <= 1 else { throw .notSingleThreaded(threads: threads) }
        if let dir = chrootDirectory {
            guard chdir(dir) == 0 else { throw .call("chdir \(dir)", errno: errno) }
            guard chroot(dir) == 0 else { throw .call("chroot \(dir)", errno: errno) }
            guard chdir("/") == 0 else { throw .call("chdir /", errno: errno) }
        }
        if dropBoundingSet {
            let last = cap_max_bits()
            for cap in 0..<cap_value_t(last) where !keep.contains(cap) {
                if cap_drop_bound(cap) != 0 && errno != EINVAL { throw .call("cap_drop_bound(\(cap))", errno: errno) }
            }
        }
        var groupList = groups
        let gid = account?.gid ?? getgid()
        guard setgroups(groupList.count, &groupList) == 0 else { throw .call("setgroups", errno: errno) }
        if let account {
            guard pst_setresgid(account.gid, account.gid, account.gid) == 0 else {
                throw .call("setresgid(\(gid))", errno: errno)
            }
            guard pst_setresuid(account.uid, account.uid, account.uid) == 0 else {
                throw .call("setresuid(\(account.uid))", errno: errno)
            }
        }
        guard let caps = cap_init() else { throw .call("cap_init", errno: errno) }
        defer { cap_free(UnsafeMutableRawPointer(caps)) }
        if !keep.isEmpty {
            var list = keep
            cap_set_flag(caps, CAP_PERMITTED, Int32(list.count), &list, CAP_SET)
            cap_set_flag(caps, CAP_EFFECTIVE, Int32(list.count), &list, CAP_SET)
        }
        guard cap_set_proc(caps) == 0 else { throw .call("cap_set_proc", errno: errno) }
        guard pst_set_no_new_privs() == 0 else { throw .call("prctl(PR_SET_NO_NEW_PRIVS)", errno: errno) }
        if let account {
            // Belt and braces: a drop that silently failed must stop the process.
            var r: uid_t = 0
            var e: uid_t = 0
            var s: uid_t = 0
            _ = pst_getresuid(&r, &e, &s)
            if r != account.uid || e != account.uid || s != account.uid {
                throw .call("uid check after drop", errno: EPERM)
            }
        }
    }
}
