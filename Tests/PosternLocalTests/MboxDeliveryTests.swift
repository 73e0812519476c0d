import Dispatch
import Foundation
import XCTest

@testable import PosternLocal

#if canImport(Glibc)
    import Glibc
#endif

/// Delivery against real files: exact bytes, creation, the hostile-directory
/// refusals, streaming across chunk boundaries, and rollback on write errors.
/// Runs as root, as the CI does; ownership cases use chown.
final class MboxDeliveryTests: XCTestCase {
    private var scratch: MboxScratch!

    override func setUpWithError() throws {
        scratch = try MboxScratch()
    }

    override func tearDown() {
        scratch?.remove()
        scratch = nil
    }

    private let novemberTwentyThird: Int64 = 1_795_434_480  // Mon Nov 23 11:48:00 2026 UTC
    private let novemberThird: Int64 = 1_793_689_509  // Tue Nov  3 07:05:09 2026 UTC

    // MARK: creation and exact bytes

    func testNewMailboxIsCreatedWithMode0600() throws {
        let box = scratch.path("alice")
        let oldMask = umask(0)  // even with a permissive umask, 0600
        defer { umask(oldMask) }
        let written = try scratch.deliver(to: box, message: "Subject: hi\r\n\r\nhello\r\n")
        let st = try XCTUnwrap(mboxLstat(box))
        XCTAssertEqual(st.st_mode & S_IFMT, S_IFREG)
        XCTAssertEqual(st.st_mode & 0o7777, 0o600)
        XCTAssertEqual(st.st_uid, geteuid())
        XCTAssertEqual(Int(st.st_size), written)
        XCTAssertFalse(mboxExists(box + ".lock"), "dotlock must be removed after delivery")
    }

    func testTwoMessagesAppendExactBytes() throws {
        let box = scratch.path("alice")
        let first = try scratch.deliver(
            to: box,
            message: "Received: from a\r\nSubject: one\r\n\r\nFrom the start\r\n>From quoted\r\n"
                + "not From here\r\nFrom\r\nend\r\n",
            sender: "alice@example.test",
            headers: ["Delivered-To: alice@example.test", "Return-Path: <alice@example.test>"],
            arrival: novemberTwentyThird)
        let second = try scratch.deliver(
            to: box,
            message: "Subject: two\r\n\r\n>>From deep\r\nlone\rCR\r\nlast line",
            sender: "",
            headers: [],
            arrival: novemberThird)
        let expectedFirst =
            "From alice@example.test Mon Nov 23 11:48:00 2026\n"
            + "Delivered-To: alice@example.test\n"
            + "Return-Path: <alice@example.test>\n"
            + "Received: from a\nSubject: one\n\n>From the start\n>>From quoted\n"
            + "not From here\nFrom\nend\n\n"
        let expectedSecond =
            "From MAILER-DAEMON Tue Nov  3 07:05:09 2026\n"
            + "Subject: two\n\n>>>From deep\nlone\rCR\nlast line\n\n"
        XCTAssertEqual(String(decoding: try mboxRead(box), as: UTF8.self), expectedFirst + expectedSecond)
        XCTAssertEqual(first, expectedFirst.utf8.count)
        XCTAssertEqual(second, expectedSecond.utf8.count)
    }

    func testNullSenderIsWrittenAsMailerDaemon() throws {
        let box = scratch.path("alice")
        _ = try scratch.deliver(to: box, message: "x\r\n", sender: "", headers: [], arrival: 0)
        XCTAssertEqual(
            String(decoding: try mboxRead(box), as: UTF8.self),
            "From MAILER-DAEMON Thu Jan  1 00:00:00 1970\nx\n\n")
    }

    func testExistingMailboxModeIsNotChanged() throws {
        let box = scratch.path("alice")
        try mboxWrite(box, Array("From a Thu Jan  1 00:00:00 1970\nold\n\n".utf8), mode: 0o620)
        _ = try scratch.deliver(to: box, message: "new\r\n")
        let st = try XCTUnwrap(mboxLstat(box))
        XCTAssertEqual(st.st_mode & 0o7777, 0o620)
        XCTAssertTrue(
            String(decoding: try mboxRead(box), as: UTF8.self).hasPrefix(
                "From a Thu Jan  1 00:00:00 1970\nold\n\nFrom "))
    }

    func testMessageDescriptorOffsetIsIgnored() throws {
        let box = scratch.path("alice")
        let body = "Subject: offset\r\n\r\nthe whole message\r\n"
        let fd = try scratch.messageFD(body)
        defer { close(fd) }
        XCTAssertEqual(lseek(fd, 0, SEEK_END), off_t(body.utf8.count))
        _ = try MboxDelivery.deliver(
            path: box, messageFD: fd, envelopeSender: "a@b", arrival: 0,
            expectedOwner: geteuid(), extraHeaders: [])
        XCTAssertEqual(
            String(decoding: try mboxRead(box), as: UTF8.self),
            "From a@b Thu Jan  1 00:00:00 1970\nSubject: offset\n\nthe whole message\n\n")
        XCTAssertEqual(lseek(fd, 0, SEEK_CUR), off_t(body.utf8.count), "the shared offset must not move")
    }

    // MARK: streaming

    func testLargeMessageAcrossChunkBoundaries() throws {
        // Lines of varying length so that "From ", CR and LF land on every
        // position relative to the chunk edges for the sizes below.
        var message = "Subject: big\r\n\r\n"
        for i in 0..<1500 {
            switch i % 5 {
            case 0: message += "From line \(i)\r\n"
            case 1: message += String(repeating: ">", count: i % 7) + "From quoted \(i)\r\n"
            case 2: message += "text \(String(repeating: "x", count: i % 13)) From \(i)\r\n"
            case 3: message += "lone\r\(i)\r\n"
            default: message += "\r\n"
            }
        }
        let bytes = Array(message.utf8)
        let preamble =
            try MboxPreamble.fromLine(sender: "a@b", arrival: 0)
            + MboxPreamble.headerLines(["Delivered-To: a@b"])
        let expected = preamble + referenceEncode(bytes)
        for chunk in [1, 2, 3, 5, 7, 64, 4093, 65536] {
            let box = scratch.path("box-\(chunk)")
            let written = try scratch.deliver(
                to: box, message: message, sender: "a@b", headers: ["Delivered-To: a@b"], arrival: 0,
                options: .init(chunkSize: chunk))
            assertSameBytes(try mboxRead(box), expected, "chunk \(chunk)")
            XCTAssertEqual(written, expected.count)
        }
        XCTAssertGreaterThan(bytes.count, 5 * 4093, "must span many chunks")
    }

    // MARK: hostile mail directory

    func testSymlinkMailboxIsRefusedAndTargetUntouched() throws {
        let target = scratch.path("passwd")
        let original = Array("root:x:0:0:root:/root:/bin/sh\n".utf8)
        try mboxWrite(target, original, mode: 0o644)
        let box = scratch.path("alice")
        XCTAssertEqual(symlink(target, box), 0)
        let error = scratch.deliveryError(to: box, message: "Subject: pwn\r\n\r\nroot::0:0::/:/bin/sh\r\n")
        XCTAssertTrue(mboxIsUnsafe(error, containing: "symbolic link"), "got \(String(describing: error))")
        XCTAssertEqual(try mboxRead(target), original)
    }

    func testDanglingSymlinkIsRefusedAndNothingIsCreated() throws {
        let target = scratch.path("would-be-created")
        let box = scratch.path("alice")
        XCTAssertEqual(symlink(target, box), 0)
        let error = scratch.deliveryError(to: box, message: "x\r\n")
        XCTAssertTrue(mboxIsUnsafe(error, containing: "symbolic link"), "got \(String(describing: error))")
        XCTAssertFalse(mboxExists(target))
    }

    func testHardLinkedMailboxIsRefused() throws {
        let other = scratch.path("authorized_keys")
        let original = Array("ssh-ed25519 AAAA\n".utf8)
        try mboxWrite(other, original, mode: 0o600)
        let box = scratch.path("alice")
        XCTAssertEqual(link(other, box), 0)
        let error = scratch.deliveryError(to: box, message: "x\r\n")
        XCTAssertTrue(mboxIsUnsafe(error, containing: "hard link"), "got \(String(describing: error))")
        XCTAssertEqual(try mboxRead(other), original)
    }

    func testFIFOIsRefusedWithoutHanging() throws {
        let box = scratch.path("alice")
        XCTAssertEqual(mkfifo(box, 0o600), 0)
        let result = MboxBox<MboxError?>(nil)
        let done = DispatchSemaphore(value: 0)
        let scratch = self.scratch!
        DispatchQueue.global().async {
            result.value = scratch.deliveryError(to: box, message: "x\r\n")
            done.signal()
        }
        guard done.wait(timeout: .now() + 5) == .success else {
            return XCTFail("delivery to a FIFO hung")
        }
        XCTAssertTrue(mboxIsUnsafe(result.value, containing: "FIFO"), "got \(String(describing: result.value))")
    }

    func testDirectoryIsRefused() throws {
        let box = scratch.path("alice")
        XCTAssertEqual(mkdir(box, 0o700), 0)
        let error = scratch.deliveryError(to: box, message: "x\r\n")
        XCTAssertTrue(mboxIsUnsafe(error, containing: "directory"), "got \(String(describing: error))")
    }

    func testMailboxOfAnotherUserIsRefused() throws {
        let box = scratch.path("alice")
        let original = Array("From x Thu Jan  1 00:00:00 1970\nmine\n\n".utf8)
        try mboxWrite(box, original, mode: 0o600)
        XCTAssertEqual(chown(box, 4242, 4242), 0)
        let error = scratch.deliveryError(to: box, message: "x\r\n", owner: 0)
        XCTAssertTrue(mboxIsUnsafe(error, containing: "owned by uid 4242"), "got \(String(describing: error))")
        XCTAssertEqual(try mboxRead(box), original)
    }

    func testMissingMailboxIsNotCreatedForAnotherUser() throws {
        let box = scratch.path("alice")
        let error = scratch.deliveryError(to: box, message: "x\r\n", owner: 4242)
        XCTAssertTrue(mboxIsUnsafe(error, containing: "not its owner"), "got \(String(describing: error))")
        XCTAssertFalse(mboxExists(box))
    }

    func testInvalidArgumentsTouchNothing() throws {
        let box = scratch.path("alice")
        var error = scratch.deliveryError(to: box, message: "x\r\n", headers: ["X-Evil: a\r\nFrom b"])
        guard case .invalidArgument? = error else { return XCTFail("got \(String(describing: error))") }
        error = scratch.deliveryError(to: "relative/alice", message: "x\r\n")
        guard case .invalidArgument? = error else { return XCTFail("got \(String(describing: error))") }
        error = scratch.deliveryError(to: scratch.path(".."), message: "x\r\n")
        guard case .invalidArgument? = error else { return XCTFail("got \(String(describing: error))") }
        XCTAssertFalse(mboxExists(box))
        XCTAssertFalse(mboxExists(box + ".lock"))
    }

    func testUnreadableMessageLeavesMailboxUnchanged() throws {
        let box = scratch.path("alice")
        _ = try scratch.deliver(to: box, message: "first\r\n")
        let before = try mboxRead(box)
        let writeOnly = open(scratch.path("spool-wo"), O_WRONLY | O_CREAT | O_CLOEXEC, 0o600)
        XCTAssertGreaterThanOrEqual(writeOnly, 0)
        defer { close(writeOnly) }
        XCTAssertEqual(write(writeOnly, "data\r\n", 6), 6)
        var error: MboxError?
        do {
            _ = try MboxDelivery.deliver(
                path: box, messageFD: writeOnly, envelopeSender: "a@b", arrival: 0,
                expectedOwner: geteuid(), extraHeaders: [])
        } catch let e {
            error = e
        }
        XCTAssertEqual(error, .io(operation: "read message", errno: EBADF))
        XCTAssertEqual(try mboxRead(box), before, "nothing may be left of the failed delivery")
        XCTAssertFalse(mboxExists(box + ".lock"))
    }

    // MARK: write errors

    func testWriteErrorTruncatesBackToTheOriginalSize() throws {
        let box = scratch.path("alice")
        _ = try scratch.deliver(to: box, message: "Subject: first\r\n\r\nfits\r\n")
        let before = try mboxRead(box)
        let big = String(repeating: "0123456789 From here\r\nFrom there\r\n", count: 4000)
        let fd = try scratch.messageFD(big)
        defer { close(fd) }

        // RLIMIT_FSIZE makes write fail with EFBIG part-way through the
        // append; SIGXFSZ must be ignored or it would kill the test process.
        let oldHandler = signal(SIGXFSZ, SIG_IGN)
        var oldLimit = rlimit()
        XCTAssertEqual(getrlimit(__rlimit_resource_t(RLIMIT_FSIZE.rawValue), &oldLimit), 0)
        var limit = rlimit(rlim_cur: rlim_t(before.count + 10_000), rlim_max: oldLimit.rlim_max)
        XCTAssertEqual(setrlimit(__rlimit_resource_t(RLIMIT_FSIZE.rawValue), &limit), 0)
        var error: MboxError?
        do {
            _ = try MboxDelivery.deliver(
                path: box, messageFD: fd, envelopeSender: "a@b", arrival: 0,
                expectedOwner: geteuid(), extraHeaders: [], options: .init(chunkSize: 4096))
        } catch let e {
            error = e
        }
        XCTAssertEqual(setrlimit(__rlimit_resource_t(RLIMIT_FSIZE.rawValue), &oldLimit), 0)
        signal(SIGXFSZ, oldHandler)

        XCTAssertEqual(error, .io(operation: "write mailbox", errno: EFBIG))
        assertSameBytes(try mboxRead(box), before, "the partial append must be cut back off")
        XCTAssertFalse(mboxExists(box + ".lock"))
        // And the mailbox still takes mail afterwards.
        _ = try scratch.deliver(to: box, message: "after\r\n")
        XCTAssertTrue(String(decoding: try mboxRead(box), as: UTF8.self).hasSuffix("\nafter\n\n"))
    }

    // MARK: running as the recipient

    func testAsRecipientInUnwritableDirectoryUsesFcntlLockOnly() throws {
        try XCTSkipUnless(geteuid() == 0, "needs root to switch euid")
        XCTAssertEqual(chmod(scratch.dir, 0o755), 0)  // searchable, not writable, for nobody
        let nobody: uid_t = 65534
        let box = scratch.path("nobody")
        try mboxWrite(box, [], mode: 0o600)
        XCTAssertEqual(chown(box, nobody, nobody), 0)
        let missing = scratch.path("nobody-missing")
        let target = scratch.path("root-file")
        try mboxWrite(target, Array("secret\n".utf8), mode: 0o666)
        let link = scratch.path("nobody-link")
        XCTAssertEqual(symlink(target, link), 0)
        let fd = try scratch.messageFD("Subject: as nobody\r\n\r\nhi\r\n")
        defer { close(fd) }

        func deliverAsNobody(_ path: String) -> Result<Int, MboxError> {
            guard seteuid(nobody) == 0 else { return .failure(.io(operation: "test seteuid", errno: errno)) }
            defer { _ = seteuid(0) }
            do {
                return .success(
                    try MboxDelivery.deliver(
                        path: path, messageFD: fd, envelopeSender: "a@b", arrival: 0,
                        expectedOwner: nobody, extraHeaders: [],
                        options: .init(lockTimeout: .seconds(2))))
            } catch let e {
                return .failure(e)
            }
        }

        let delivered = deliverAsNobody(box)
        XCTAssertEqual(geteuid(), 0)
        guard case .success(let written) = delivered else {
            return XCTFail("delivery as nobody failed: \(delivered)")
        }
        XCTAssertEqual(written, try mboxRead(box).count)
        XCTAssertFalse(mboxExists(box + ".lock"))

        // Creating a mailbox in a directory the user cannot write is an I/O
        // error, not a silent success.
        XCTAssertEqual(deliverAsNobody(missing), .failure(.io(operation: "create mailbox \(missing)", errno: EACCES)))
        // And a symlink to a file the user could write is still refused.
        guard case .failure(let error) = deliverAsNobody(link), mboxIsUnsafe(error, containing: "symbolic link") else {
            return XCTFail("symlink was not refused")
        }
        XCTAssertEqual(try mboxRead(target), Array("secret\n".utf8))
    }
}

// MARK: - Test support

/// A per-test directory under /tmp, removed afterwards.
final class MboxScratch: @unchecked Sendable {
    let dir: String
    private var spoolCounter = 0

    init() throws {
        var template = Array("/tmp/postern-mbox-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { buffer -> Bool in
            guard let base = buffer.baseAddress else { return false }
            return mkdtemp(base) != nil
        }
        guard made else { throw MboxTestFailure("mkdtemp failed: errno \(errno)") }
        dir = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    func path(_ name: String) -> String { dir + "/" + name }

    func remove() {
        try? FileManager.default.removeItem(atPath: dir)
    }

    /// Writes `text` as a spool file and returns a read-only descriptor, as
    /// the queue hands one to the worker.
    func messageFD(_ text: String) throws -> Int32 {
        spoolCounter += 1
        let spool = path("spool-\(spoolCounter)")
        try mboxWrite(spool, Array(text.utf8), mode: 0o600)
        let fd = open(spool, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw MboxTestFailure("open spool: errno \(errno)") }
        return fd
    }

    func deliver(
        to box: String, message: String, sender: String = "alice@example.test",
        headers: [String] = ["Delivered-To: alice@example.test"], owner: uid_t = geteuid(),
        arrival: Int64 = 1_795_434_480,
        options: MboxDelivery.Options = .init(lockTimeout: .seconds(2))
    ) throws -> Int {
        let fd = try messageFD(message)
        defer { close(fd) }
        return try MboxDelivery.deliver(
            path: box, messageFD: fd, envelopeSender: sender, arrival: arrival,
            expectedOwner: owner, extraHeaders: headers, options: options)
    }

    /// The MboxError a delivery throws, nil if it succeeds.
    func deliveryError(
        to box: String, message: String, headers: [String] = [], owner: uid_t = geteuid(),
        options: MboxDelivery.Options = .init(lockTimeout: .seconds(2))
    ) -> MboxError? {
        let fd: Int32
        do { fd = try messageFD(message) } catch { return .io(operation: "test setup", errno: errno) }
        defer { close(fd) }
        do {
            _ = try MboxDelivery.deliver(
                path: box, messageFD: fd, envelopeSender: "a@b", arrival: 0,
                expectedOwner: owner, extraHeaders: headers, options: options)
            return nil
        } catch let e {
            return e
        }
    }
}

struct MboxTestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A mutable cell to carry a result out of a background closure.
final class MboxBox<Value>: @unchecked Sendable {
    var value: Value
    init(_ value: Value) { self.value = value }
}

/// Compares byte arrays without dumping megabytes of numbers on failure.
func assertSameBytes(
    _ got: [UInt8], _ expected: [UInt8], _ message: String = "",
    file: StaticString = #filePath, line: UInt = #line
) {
    guard got != expected else { return }
    let common = min(got.count, expected.count)
    let firstDifference = (0..<common).first { got[$0] != expected[$0] } ?? common
    let context = { (bytes: [UInt8]) in
        String(decoding: bytes[max(0, firstDifference - 20)..<min(bytes.count, firstDifference + 20)], as: UTF8.self)
            .debugDescription
    }
    XCTFail(
        "\(message): \(got.count) bytes vs \(expected.count) expected, first difference at \(firstDifference): "
            + "got \(context(got)), expected \(context(expected))", file: file, line: line)
}

func mboxIsUnsafe(_ error: MboxError?, containing text: String) -> Bool {
    guard case .unsafeMailbox(let reason)? = error else { return false }
    return reason.contains(text)
}

func mboxLstat(_ path: String) -> stat? {
    var st = stat()
    return lstat(path, &st) == 0 ? st : nil
}

func mboxExists(_ path: String) -> Bool {
    mboxLstat(path) != nil
}

func mboxWrite(_ path: String, _ bytes: [UInt8], mode: mode_t) throws {
    let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
    guard fd >= 0 else { throw MboxTestFailure("create \(path): errno \(errno)") }
    defer { close(fd) }
    guard fchmod(fd, mode) == 0 else { throw MboxTestFailure("fchmod \(path): errno \(errno)") }
    let n = bytes.withUnsafeBytes { raw -> Int in
        guard let base = raw.baseAddress else { return 0 }
        return write(fd, base, raw.count)
    }
    guard n == bytes.count else { throw MboxTestFailure("write \(path): short") }
}

func mboxRead(_ path: String) throws -> [UInt8] {
    let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
    guard fd >= 0 else { throw MboxTestFailure("open \(path): errno \(errno)") }
    defer { close(fd) }
    var out: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = buffer.withUnsafeMutableBytes { raw -> Int in
            guard let base = raw.baseAddress else { return 0 }
            return read(fd, base, raw.count)
        }
        if n < 0 { throw MboxTestFailure("read \(path): errno \(errno)") }
        if n == 0 { return out }
        out.append(contentsOf: buffer[0..<n])
    }
}
