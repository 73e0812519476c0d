import XCTest

@testable import PosternLocal

#if canImport(Glibc)
    import Glibc
#endif

/// File deliveries inside a temporary "jail" directory, reached through a
/// directory descriptor as production reaches its chroot's "/". `outside/`
/// sits next to the jail: every escape attempt points there, and it must
/// stay untouched.
final class SafeFileDeliveryTests: XCTestCase {
    private var scratch: MboxScratch!
    private var jail = ""
    private var outside = ""
    private var root: Int32 = -1

    private let arrival: Int64 = 1_795_434_480  // Mon Nov 23 11:48:00 2026 UTC

    override func setUpWithError() throws {
        scratch = try MboxScratch()
        XCTAssertEqual(chmod(scratch.dir, 0o755), 0)
        jail = scratch.path("jail")
        outside = scratch.path("outside")
        XCTAssertEqual(mkdir(jail, 0o755), 0)
        XCTAssertEqual(mkdir(outside, 0o755), 0)
        XCTAssertEqual(mkdir(jail + "/archive", 0o755), 0)
        root = open(jail, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        XCTAssertGreaterThanOrEqual(root, 0)
    }

    override func tearDown() {
        if root >= 0 { close(root) }
        scratch?.remove()
        scratch = nil
    }

    // MARK: appending

    func testTwoDeliveriesAppendTwoIntactMboxMessages() throws {
        let oldMask = umask(0)
        defer { umask(oldMask) }
        let first = try deliver(
            "/var/mailjail/archive/list", message: "Subject: one\r\n\r\nFrom the start\r\n>From quoted\r\n",
            sender: "alice@example.test", headers: ["Delivered-To: list@example.test"])
        let second = try deliver("/archive/list", message: "Subject: two\r\n\r\nlast line", sender: "")
        let expected =
            "From alice@example.test Mon Nov 23 11:48:00 2026\nDelivered-To: list@example.test\n"
            + "Subject: one\n\n>From the start\n>>From quoted\n\n"
            + "From MAILER-DAEMON Mon Nov 23 11:48:00 2026\nSubject: two\n\nlast line\n\n"
        let box = jail + "/archive/list"
        XCTAssertEqual(String(decoding: try mboxRead(box), as: UTF8.self), expected)
        XCTAssertEqual(first + second, expected.utf8.count)
        let st = try XCTUnwrap(mboxLstat(box))
        XCTAssertEqual(st.st_mode & 0o7777, 0o600, "created 0600 whatever the umask")
    }

    func testExistingFileOfAnotherOwnerIsAppendedTo() throws {
        // Shared archives need not belong to the recipient; the kernel's
        // permission check decides.
        let box = jail + "/archive/shared"
        try mboxWrite(box, Array("old\n".utf8), mode: 0o666)
        XCTAssertEqual(chown(box, 65534, 65534), 0)
        _ = try deliver("/archive/shared", message: "new\r\n")
        XCTAssertTrue(String(decoding: try mboxRead(box), as: UTF8.self).hasPrefix("old\nFrom "))
    }

    // MARK: refusals

    func testDotDotEscapesAreRefusedBeforeTouchingAnything() {
        for target in ["../outside/x", "/var/mailjail/../outside/x", "/../outside/x", "/archive/../../outside/x"] {
            guard case .invalidPath? = deliveryError(target) else {
                return XCTFail("\(target) was not refused as a path")
            }
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: outside), [])
    }

    func testSymlinkAsTheFileIsRefused() throws {
        let target = outside + "/victim"
        try mboxWrite(target, Array("precious\n".utf8), mode: 0o644)
        XCTAssertEqual(symlink(target, jail + "/archive/list"), 0)
        XCTAssertEqual(symlink(outside + "/new", jail + "/archive/dangling"), 0)
        XCTAssertTrue(isRefused(deliveryError("/archive/list"), containing: "symbolic link"))
        XCTAssertTrue(isRefused(deliveryError("/archive/dangling"), containing: "symbolic link"))
        XCTAssertEqual(try mboxRead(target), Array("precious\n".utf8))
        XCTAssertFalse(mboxExists(outside + "/new"))
    }

    func testSymlinkAsADirectoryIsRefused() throws {
        XCTAssertEqual(symlink(outside, jail + "/link"), 0)
        XCTAssertEqual(symlink(outside, jail + "/archive/deeper"), 0)
        XCTAssertTrue(isRefused(deliveryError("/link/file"), containing: "symbolic link, not a directory"))
        XCTAssertTrue(isRefused(deliveryError("/archive/deeper/file"), containing: "symbolic link"))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: outside), [])
    }

    func testFIFOIsRefusedWithoutHanging() throws {
        let fifo = jail + "/archive/fifo"
        XCTAssertEqual(mkfifo(fifo, 0o666), 0)
        let started = MboxSystem.monotonicNanoseconds()
        XCTAssertTrue(isRefused(deliveryError("/archive/fifo"), containing: "FIFO"))
        // With a reader present an open would succeed: still refused.
        let reader = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        XCTAssertGreaterThanOrEqual(reader, 0)
        defer { close(reader) }
        XCTAssertTrue(isRefused(deliveryError("/archive/fifo"), containing: "FIFO"))
        XCTAssertLessThan(MboxSystem.monotonicNanoseconds() - started, 2_000_000_000)
        var byte: UInt8 = 0
        XCTAssertLessThanOrEqual(read(reader, &byte, 1), 0, "something was written into the FIFO")
    }

    func testSetuidSetgidAndExecutableFilesAreRefused() throws {
        for (name, mode, reason) in [
            ("setuid", mode_t(0o4600), "setuid"), ("setgid", mode_t(0o2600), "setgid"),
            ("program", mode_t(0o700), "executable"), ("script", mode_t(0o601), "executable"),
        ] {
            let path = jail + "/archive/" + name
            try mboxWrite(path, Array("#!/bin/sh\n".utf8), mode: mode)
            XCTAssertTrue(isRefused(deliveryError("/archive/" + name), containing: reason), name)
            XCTAssertEqual(try mboxRead(path), Array("#!/bin/sh\n".utf8), name)
        }
    }

    func testHardLinkedFileIsRefused() throws {
        let original = outside + "/authorized_keys"
        try mboxWrite(original, Array("ssh-ed25519 AAAA\n".utf8), mode: 0o600)
        XCTAssertEqual(link(original, jail + "/archive/list"), 0)
        XCTAssertTrue(isRefused(deliveryError("/archive/list"), containing: "2 hard links"))
        XCTAssertEqual(try mboxRead(original), Array("ssh-ed25519 AAAA\n".utf8))
    }

    func testDirectoriesAndMissingDirectoriesAreRefused() {
        XCTAssertTrue(isRefused(deliveryError("/archive"), containing: "directory"))
        XCTAssertTrue(isRefused(deliveryError("/missing/list"), containing: "does not exist"))
        let error = deliveryError("/missing/list")
        XCTAssertEqual(error?.isPermanent, true)
    }

    // MARK: transient errors

    func testHeldLockTimesOutAsATransientError() throws {
        let box = jail + "/archive/list"
        try mboxWrite(box, Array("old\n".utf8), mode: 0o600)
        let holder = open(box, O_RDWR | O_CLOEXEC)
        XCTAssertGreaterThanOrEqual(holder, 0)
        defer { close(holder) }
        var lock = flock()
        lock.l_type = Int16(F_WRLCK)
        lock.l_whence = Int16(SEEK_SET)
        let openFileDescriptionLock: Int32 = 37  // F_OFD_SETLK: conflicts within one process too
        XCTAssertEqual(fcntl(holder, openFileDescriptionLock, &lock), 0)
        let error = deliveryError(
            "/archive/list", options: .init(lockTimeout: .milliseconds(300), lockRetryInterval: .milliseconds(50)))
        XCTAssertEqual(error, .lockTimeout)
        XCTAssertEqual(error?.isPermanent, false)
        XCTAssertEqual(try mboxRead(box), Array("old\n".utf8))
    }

    func testWriteErrorCutsTheAppendBack() throws {
        _ = try deliver("/archive/list", message: "first\r\n")
        let box = jail + "/archive/list"
        let before = try mboxRead(box)
        let fd = try scratch.messageFD(String(repeating: "0123456789 From here\r\n", count: 5000))
        defer { close(fd) }
        // The file size limit makes a write fail with EFBIG part-way.
        let error = underFileSizeLimit(before.count + 10_000) { () -> SafeFileError? in
            do throws(SafeFileError) {
                _ = try SafeFileDelivery.deliver(
                    to: SafeFilePath(target: "/archive/list", jail: "/"), root: root, messageFD: fd,
                    envelopeSender: "a@b", arrival: 0, extraHeaders: [], options: .init(chunkSize: 4096))
                return nil
            } catch {
                return error
            }
        }
        XCTAssertEqual(error, .io(operation: "write mailbox", errno: EFBIG))
        XCTAssertEqual(error?.isPermanent, false)
        assertSameBytes(try mboxRead(box), before, "the partial append must be cut back off")
    }

    // MARK: as the recipient

    func testAsNobodyCreatesOwnFileAndCannotCreateInRootsDirectory() throws {
        XCTAssertEqual(mkdir(jail + "/nobody", 0o755), 0)
        XCTAssertEqual(chown(jail + "/nobody", 65534, 65534), 0)
        let fd = try scratch.messageFD("Subject: as nobody\r\n\r\nhi\r\n")
        defer { close(fd) }
        let root = self.root
        func attempt(_ target: String) -> String {
            do {
                let n = try SafeFileDelivery.deliver(
                    to: SafeFilePath(target: target, jail: "/var/mailjail"), root: root, messageFD: fd,
                    envelopeSender: "a@b", arrival: 0, extraHeaders: [])
                return "wrote \(n)"
            } catch {
                return "\(error.enhancedStatus) \(error)"
            }
        }
        let report = try runAsNobody { attempt("/var/mailjail/nobody/box") + "\n" + attempt("/archive/box") }
        let lines = report.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 2, report)
        let expected = "From a@b Thu Jan  1 00:00:00 1970\nSubject: as nobody\n\nhi\n\n"
        XCTAssertEqual(lines.first, "wrote \(expected.utf8.count)")
        XCTAssertTrue(lines.last?.hasPrefix("5.7.1 ") == true, report)
        XCTAssertTrue(lines.last?.contains("may not be created") == true, report)
        let st = try XCTUnwrap(mboxLstat(jail + "/nobody/box"))
        XCTAssertEqual(st.st_uid, 65534)
        XCTAssertEqual(String(decoding: try mboxRead(jail + "/nobody/box"), as: UTF8.self), expected)
        XCTAssertFalse(mboxExists(jail + "/archive/box"))
    }

    // MARK: - Support

    private func deliver(
        _ target: String, message: String, sender: String = "a@b", headers: [String] = []
    ) throws -> Int {
        let fd = try scratch.messageFD(message)
        defer { close(fd) }
        return try SafeFileDelivery.deliver(
            to: SafeFilePath(target: target, jail: "/var/mailjail"), root: root, messageFD: fd,
            envelopeSender: sender, arrival: arrival, extraHeaders: headers)
    }

    private func deliveryError(
        _ target: String, options: SafeFileDelivery.Options = .init(lockTimeout: .seconds(2))
    ) -> SafeFileError? {
        let fd: Int32
        do { fd = try scratch.messageFD("Subject: x\r\n\r\nx\r\n") } catch { return .io(operation: "setup", errno: 0) }
        defer { close(fd) }
        do {
            _ = try SafeFileDelivery.deliver(
                to: SafeFilePath(target: target, jail: "/var/mailjail"), root: root, messageFD: fd,
                envelopeSender: "a@b", arrival: 0, extraHeaders: [], options: options)
            return nil
        } catch {
            return error
        }
    }

    /// Runs `body` with RLIMIT_FSIZE lowered and SIGXFSZ ignored (it would
    /// kill the test process), restoring both afterwards.
    private func underFileSizeLimit<T>(_ bytes: Int, _ body: () -> T) -> T {
        let resource = __rlimit_resource_t(RLIMIT_FSIZE.rawValue)
        let previousHandler = signal(SIGXFSZ, SIG_IGN)
        var previous = rlimit()
        XCTAssertEqual(getrlimit(resource, &previous), 0)
        var lowered = rlimit(rlim_cur: rlim_t(bytes), rlim_max: previous.rlim_max)
        XCTAssertEqual(setrlimit(resource, &lowered), 0)
        defer {
            XCTAssertEqual(setrlimit(resource, &previous), 0)
            signal(SIGXFSZ, previousHandler)
        }
        return body()
    }

    private func isRefused(_ error: SafeFileError?, containing text: String) -> Bool {
        guard case .refused(let reason)? = error, reason.contains(text) else {
            XCTFail("expected a refusal mentioning \(text.debugDescription), got \(String(describing: error))")
            return false
        }
        return error?.isPermanent == true
    }
}
