import Foundation
import PosternCore
import XCTest

@testable import PosternQueue

#if canImport(Glibc)
    import Glibc
#endif

final class SpoolTests: XCTestCase {
    var root = ""
    var msg: String { root + "/msg" }

    override func setUpWithError() throws {
        var template = Array("/tmp/postern-spool-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        XCTAssertNotNil(made)
        root = String(cString: template)
    }

    override func tearDownWithError() throws {
        if !root.isEmpty { try? FileManager.default.removeItem(atPath: root) }
    }

    // MARK: helpers

    func envelope(_ id: QueueID, recipients: Int = 1) -> Envelope {
        Envelope(
            queueID: id, sender: "alice@example.test",
            recipients: (0..<recipients).map { Recipient(address: "r\($0)@example.test", localUser: "r\($0)") },
            arrival: 1_700_000_000, clientAddress: "192.0.2.1", clientHelo: "client.example.test", size: 0)
    }

    func writeData(_ fd: Int32, _ text: String) {
        let bytes = Array(text.utf8)
        XCTAssertEqual(bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }, bytes.count)
    }

    func readAll(_ fd: Int32) -> String {
        var out = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            out += buffer[0..<n]
        }
        return String(decoding: out, as: UTF8.self)
    }

    func files() -> Set<String> {
        Set((try? FileManager.default.contentsOfDirectory(atPath: msg)) ?? [])
    }

    func put(_ name: String, _ bytes: [UInt8]) {
        XCTAssertTrue(FileManager.default.createFile(atPath: msg + "/" + name, contents: Data(bytes)))
    }

    func contents(_ name: String) -> [UInt8]? {
        FileManager.default.contents(atPath: msg + "/" + name).map { Array($0) }
    }

    func mode(_ path: String) -> mode_t {
        var st = stat()
        XCTAssertEqual(lstat(path, &st), 0)
        return st.st_mode & 0o7777
    }

    /// A committed message with the given body; returns its envelope as stored.
    func committed(_ spool: Spool, body: String = "Subject: hi\r\n\r\nbody\r\n") throws -> Envelope {
        let (id, fd) = try spool.createData()
        defer { close(fd) }
        writeData(fd, body)
        var e = envelope(id)
        try spool.commit(e, dataFD: fd)
        e.size = Int64(body.utf8.count)
        return e
    }

    // MARK: tests

    func testInitCreatesPrivateMsgDirectory() throws {
        let old = umask(0o077)
        defer { umask(old) }
        _ = try Spool(root: root)
        XCTAssertEqual(mode(msg), 0o700)
        // Again on an existing directory, and with a trailing slash (the chroot case is "/").
        _ = try Spool(root: root + "/")
    }

    func testInitRefusesMissingRootAndSymlinkedMsg() throws {
        XCTAssertThrowsError(try Spool(root: root + "/absent")) { error in
            XCTAssertEqual(error as? SpoolError, .system(operation: "mkdir", name: "msg", errno: ENOENT))
        }
        let elsewhere = root + "/elsewhere"
        XCTAssertEqual(mkdir(elsewhere, 0o700), 0)
        let jail = root + "/jail"
        XCTAssertEqual(mkdir(jail, 0o700), 0)
        XCTAssertEqual(symlink(elsewhere, jail + "/msg"), 0)
        XCTAssertThrowsError(try Spool(root: jail)) { error in
            guard case .system(operation: "open", name: "msg", _) = error as? SpoolError else {
                return XCTFail("\(error)")
            }
        }
    }

    func testCreateDataMakesDistinctPrivateFiles() throws {
        let spool = try Spool(root: root)
        var ids = Set<QueueID>()
        for _ in 0..<50 {
            let (id, fd) = try spool.createData()
            XCTAssertGreaterThanOrEqual(fd, 0)
            XCTAssertEqual(mode(msg + "/\(id).d"), 0o600)
            XCTAssertEqual(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC)
            XCTAssertEqual(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDWR)
            ids.insert(id)
            close(fd)
        }
        XCTAssertEqual(ids.count, 50)
        XCTAssertEqual(files().count, 50)
    }

    func testLifecycle() throws {
        let spool = try Spool(root: root)
        let (id, fd) = try spool.createData()
        let body = "From: alice@example.test\r\nSubject: test\r\n\r\nHello.\r\n"
        writeData(fd, body)
        var e = envelope(id, recipients: 2)
        e.size = 999_999  // what the listener counted is not trusted: fstat is
        try spool.commit(e, dataFD: fd)
        // commit does not close the descriptor.
        XCTAssertNotEqual(fcntl(fd, F_GETFD), -1)
        close(fd)

        XCTAssertEqual(files(), ["\(id).c", "\(id).d"])
        XCTAssertEqual(mode(msg + "/\(id).c"), 0o600)
        e.size = Int64(body.utf8.count)
        XCTAssertEqual(try ControlFile.decode(contents("\(id).c") ?? []), e)

        let readFD = try spool.openDataReadOnly(id)
        XCTAssertEqual(readAll(readFD), body)
        XCTAssertEqual(fcntl(readFD, F_GETFL) & O_ACCMODE, O_RDONLY)
        XCTAssertEqual(fcntl(readFD, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC)
        XCTAssertEqual(write(readFD, "x", 1), -1)
        close(readFD)

        e.recipients[0].state = .delivered
        e.recipients[0].lastResult = "250 2.0.0 delivered to mbox"
        e.attempts = 1
        e.nextAttempt = 1_700_000_600
        try spool.update(e, durable: true)
        XCTAssertEqual(try ControlFile.decode(contents("\(id).c") ?? []), e)
        e.recipients[1].state = .failed
        try spool.update(e, durable: false)
        XCTAssertEqual(try ControlFile.decode(contents("\(id).c") ?? []), e)
        XCTAssertEqual(files(), ["\(id).c", "\(id).d"])

        XCTAssertEqual(spool.recover().messages, [e])

        spool.remove(id)
        XCTAssertEqual(files(), [])
        XCTAssertThrowsError(try spool.openDataReadOnly(id)) { XCTAssertEqual($0 as? SpoolError, .noSuchMessage(id)) }
        XCTAssertThrowsError(try spool.update(e, durable: true)) {
            XCTAssertEqual($0 as? SpoolError, .noSuchMessage(id))
        }
        XCTAssertEqual(files(), [], "update must not bring a removed message back")
        spool.remove(id)  // twice is harmless
    }

    func testAbort() throws {
        let spool = try Spool(root: root)
        let (id, fd) = try spool.createData()
        writeData(fd, "partial")
        put("\(id).t", [1, 2, 3])
        spool.abort(id)
        close(fd)
        XCTAssertEqual(files(), [])
        spool.abort(id)  // nothing left: harmless
    }

    func testAbortLeavesCommittedMessage() throws {
        let spool = try Spool(root: root)
        let e = try committed(spool)
        spool.abort(e.queueID)
        XCTAssertEqual(files(), ["\(e.queueID).c", "\(e.queueID).d"])
    }

    func testCommitRefusesForeignDescriptor() throws {
        let spool = try Spool(root: root)
        let (a, fdA) = try spool.createData()
        let (b, fdB) = try spool.createData()
        defer { close(fdA); close(fdB) }
        XCTAssertThrowsError(try spool.commit(envelope(a), dataFD: fdB)) {
            XCTAssertEqual($0 as? SpoolError, .dataMismatch(a))
        }
        let unknown = QueueID("ZZZZZZZZZZZZ")!
        XCTAssertThrowsError(try spool.commit(envelope(unknown), dataFD: fdA)) {
            XCTAssertEqual($0 as? SpoolError, .dataMismatch(unknown))
        }
        XCTAssertThrowsError(try spool.commit(envelope(a), dataFD: -1)) { error in
            guard case .system(operation: "fstat", _, EBADF) = error as? SpoolError else { return XCTFail("\(error)") }
        }
        XCTAssertEqual(files(), ["\(a).d", "\(b).d"])
    }

    func testCommitRefusesSecondCommit() throws {
        let spool = try Spool(root: root)
        let (id, fd) = try spool.createData()
        defer { close(fd) }
        writeData(fd, "body")
        let e = envelope(id)
        try spool.commit(e, dataFD: fd)
        var reset = e
        reset.sender = "mallory@example.test"
        XCTAssertThrowsError(try spool.commit(reset, dataFD: fd)) {
            XCTAssertEqual($0 as? SpoolError, .alreadyCommitted(id))
        }
        let results = spool.commit(batch: [(reset, fd)])
        guard case .failure(.alreadyCommitted(id)) = results.first else { return XCTFail("\(results)") }
        XCTAssertEqual(try ControlFile.decode(contents("\(id).c") ?? []).sender, "alice@example.test")
        XCTAssertEqual(files(), ["\(id).c", "\(id).d"])
    }

    func testCommitRefusesInvalidEnvelopeAndLeavesNoTemporary() throws {
        let spool = try Spool(root: root)
        let (id, fd) = try spool.createData()
        defer { close(fd) }
        var e = envelope(id)
        e.sender = "evil@example.test\nrcpt pending 4:root 4:root 0:"
        XCTAssertThrowsError(try spool.commit(e, dataFD: fd)) { error in
            guard case .controlFile(id, .invalidEnvelope(.forbiddenCharacter(field: "sender"))) = error as? SpoolError
            else {
                return XCTFail("\(error)")
            }
        }
        XCTAssertEqual(files(), ["\(id).d"])
        // The same upload can still be committed correctly.
        try spool.commit(envelope(id), dataFD: fd)
        XCTAssertEqual(files(), ["\(id).c", "\(id).d"])
    }

    func testBatchCommit() throws {
        let spool = try Spool(root: root)
        var batch = [(Envelope, Int32)]()
        var fds = [Int32]()
        for i in 0..<5 {
            let (id, fd) = try spool.createData()
            writeData(fd, String(repeating: "x", count: i + 1))
            fds.append(fd)
            var e = envelope(id)
            if i == 2 { e.clientHelo = "bad\rhelo" }
            batch.append((e, fd))
        }
        // A descriptor that is not the envelope's data file.
        let (stray, strayFD) = try spool.createData()
        fds.append(strayFD)
        batch.append((envelope(QueueID("ZZZZZZZZZZZZ")!), strayFD))
        defer { fds.forEach { close($0) } }

        let results = spool.commit(batch: batch)
        XCTAssertEqual(results.count, 6)
        for (i, result) in results.enumerated() {
            let id = batch[i].0.queueID
            switch (i, result) {
            case (2, .failure(.controlFile(id, _))), (5, .failure(.dataMismatch(id))):
                XCTAssertFalse(files().contains("\(id).c"))
            case (_, .success) where i != 2 && i != 5:
                var expected = batch[i].0
                expected.size = Int64(i + 1)
                XCTAssertEqual(try ControlFile.decode(contents("\(id).c") ?? []), expected)
            default:
                XCTFail("result \(i): \(result)")
            }
        }
        XCTAssertFalse(files().contains { $0.hasSuffix(".t") })
        XCTAssertTrue(spool.commit(batch: []).isEmpty)
        XCTAssertEqual(spool.recover().messages.count, 4)
        XCTAssertFalse(files().contains("\(stray).d"), "uncommitted upload removed by recovery")
    }

    func testRecoverCleansEveryKindOfLeftover() throws {
        let spool = try Spool(root: root)
        let good = try committed(spool)
        let goodWithStaleT = try committed(spool, body: "second")
        put("\(goodWithStaleT.queueID).t", Array("postern-control 1\nid".utf8))

        let torn = try committed(spool)
        let tornBytes = contents("\(torn.queueID).c") ?? []
        put("\(torn.queueID).c", Array(tornBytes[0..<(tornBytes.count / 2)]))

        let invalid = try committed(spool)
        var invalidBytes = contents("\(invalid.queueID).c") ?? []
        invalidBytes.insert(contentsOf: Array("color 4:blue\n".utf8), at: 18)
        put("\(invalid.queueID).c", invalidBytes)

        let mismatched = try committed(spool)
        put("\(mismatched.queueID).c", try ControlFile.encode(good))  // a copy of another message's control file

        let noData = try committed(spool)
        XCTAssertEqual(unlink(msg + "/\(noData.queueID).d"), 0)

        let (upload, uploadFD) = try spool.createData()
        writeData(uploadFD, "never committed")
        close(uploadFD)

        let onlyT = QueueID("TTTTTTTTTTTT")!
        put("\(onlyT).t", Array("half".utf8))

        let linked = try committed(spool)
        XCTAssertEqual(unlink(msg + "/\(linked.queueID).c"), 0)
        XCTAssertEqual(symlink("\(good.queueID).c", msg + "/\(linked.queueID).c"), 0)

        let empty = try committed(spool)
        put("\(empty.queueID).c", [])

        for name in [
            "garbage", "0123456789AB.x", "0123456789ab.c", "0123456789AB.c.bak", "line\nbreak", ".hidden",
            "\u{1}\u{7F}",
        ] {
            put(name, Array("junk".utf8))
        }
        XCTAssertEqual(mkdir(msg + "/subdir", 0o700), 0)
        XCTAssertEqual(mkdir(msg + "/fulldir", 0o700), 0)
        XCTAssertTrue(FileManager.default.createFile(atPath: msg + "/fulldir/inner", contents: Data()))

        let (messages, problems) = spool.recover()

        XCTAssertEqual(Set(messages.map(\.queueID)), [good.queueID, goodWithStaleT.queueID])
        XCTAssertEqual(messages.first { $0.queueID == good.queueID }, good)
        XCTAssertEqual(messages.first { $0.queueID == goodWithStaleT.queueID }, goodWithStaleT)
        XCTAssertEqual(messages, messages.sorted { $0.queueID < $1.queueID })
        XCTAssertEqual(
            files(),
            [
                "\(good.queueID).c", "\(good.queueID).d",
                "\(goodWithStaleT.queueID).c", "\(goodWithStaleT.queueID).d",
                "fulldir",
            ])

        func expect(_ line: String, file: StaticString = #filePath, line l: UInt = #line) {
            XCTAssertTrue(
                problems.contains(line), "missing \(line)\nin \(problems.joined(separator: "\n"))", file: file, line: l)
        }
        expect("queue id=\(goodWithStaleT.queueID): removed stale temporary control file")
        expect("queue id=\(onlyT): removed stale temporary control file")
        expect("queue id=\(torn.queueID): removed torn control file (no end marker), data file removed")
        expect(
            "queue id=\(invalid.queueID): removed invalid control file (unknown key \"color\" on line 2), data file removed"
        )
        expect(
            "queue id=\(mismatched.queueID): removed invalid control file (id mismatch: file says \(good.queueID)), data file removed"
        )
        expect("queue id=\(noData.queueID): removed control file without data file")
        expect("queue id=\(upload): removed data file without control file (upload never committed)")
        expect("queue id=\(linked.queueID): removed invalid control file (a symbolic link), data file removed")
        expect("queue id=\(empty.queueID): removed torn control file (no end marker), data file removed")
        for shown in [
            "garbage", "0123456789AB.x", "0123456789ab.c", "0123456789AB.c.bak", "line\\x0abreak", ".hidden",
            "\\x01\\x7f", "subdir",
        ] {
            expect("queue file=\"\(shown)\": removed unknown file")
        }
        XCTAssertTrue(problems.contains { $0.hasPrefix("queue file=\"fulldir\": could not remove unknown file (") })
        XCTAssertEqual(problems.count, 18)
        for p in problems { XCTAssertFalse(p.contains("\n")) }

        // What remains is clean: a second recovery finds the same and reports nothing new.
        let again = spool.recover()
        XCTAssertEqual(again.messages, messages)
        XCTAssertEqual(again.problems.count, 1)  // fulldir, still there
    }

    func testRecoverEmptySpool() throws {
        let spool = try Spool(root: root)
        let (messages, problems) = spool.recover()
        XCTAssertEqual(messages, [])
        XCTAssertEqual(problems, [])
    }

    func testRecoverSurvivesHostileControlFiles() throws {
        let spool = try Spool(root: root)
        let e = try committed(spool)
        let valid = contents("\(e.queueID).c") ?? []
        var rng = SplitMix(seed: 42)
        var cases: [[UInt8]] = [
            [], [0], Array(repeating: 0xFF, count: 5000), Array(repeating: 0x0A, count: 100),
            Array(repeating: UInt8(ascii: "e"), count: ControlFile.maxSize + 10),
        ]
        for _ in 0..<50 {
            var bytes = valid
            bytes[Int(rng.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: rng.next())
            cases.append(bytes)
        }
        for bytes in cases {
            let (id, fd) = try spool.createData()
            close(fd)
            put("\(id).c", bytes)
        }
        let (messages, problems) = spool.recover()
        XCTAssertTrue(messages.contains(e))
        XCTAssertEqual(messages.count + problems.count, cases.count + 1)
        XCTAssertTrue(problems.contains { $0.contains("file too large") })
        XCTAssertEqual(
            Set(files().filter { $0.hasSuffix(".c") }.map { String($0.prefix(12)) }), Set(messages.map(\.queueID.value))
        )
    }

    func testRecoverTwoThousandMessages() throws {
        let spool = try Spool(root: root)
        let total = 2_000, batchSize = 500
        for _ in 0..<(total / batchSize) {
            var batch = [(Envelope, Int32)]()
            batch.reserveCapacity(batchSize)
            for _ in 0..<batchSize {
                let (id, fd) = try spool.createData()
                writeData(fd, "x")
                batch.append((envelope(id), fd))
            }
            let results = spool.commit(batch: batch)
            for (_, fd) in batch { close(fd) }
            XCTAssertTrue(results.allSatisfy { if case .success = $0 { return true } else { return false } })
        }
        let (messages, problems) = spool.recover()
        XCTAssertEqual(messages.count, total)
        XCTAssertEqual(problems, [])
    }
}
