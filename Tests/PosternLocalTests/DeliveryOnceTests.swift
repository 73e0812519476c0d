import Foundation
import XCTest

@testable import PosternLocal

#if canImport(Glibc)
    import Glibc
#endif

/// Exactly once into mailboxes: the journal's format, a repeat that finds
/// its copy, a copy cut short by a killed writer taken off, a mailbox that
/// changed in between, Maildir names that make a repeat visible, and a
/// dotlock left by a dead writer.
final class DeliveryOnceTests: XCTestCase {
    private var scratch: MboxScratch!

    override func setUpWithError() throws {
        scratch = try MboxScratch()
    }

    override func tearDown() {
        scratch?.remove()
        scratch = nil
    }

    private let message = "Subject: once\r\n\r\nbody line\r\nFrom here\r\n"

    private func deliver(
        _ box: String, id: String, maybe: Bool, message: String? = nil, chunkSize: Int = 64 * 1024
    ) throws -> MboxDeliveryReport {
        let fd = try scratch.messageFD(message ?? self.message)
        defer { close(fd) }
        return try MboxDelivery.deliver(
            path: box, messageFD: fd, envelopeSender: "alice@example.test", arrival: 1_795_434_480,
            expectedOwner: geteuid(), extraHeaders: ["Delivered-To: bob@example.test"],
            once: DeliveryOnce(id: id, maybeDelivered: maybe),
            options: .init(lockTimeout: .seconds(2), chunkSize: chunkSize))
    }

    private func count(_ needle: String, in box: String) throws -> Int {
        String(decoding: try mboxRead(box), as: UTF8.self).components(separatedBy: needle).count - 1
    }

    // MARK: the journal line

    func testEntryRoundTripsAndStrangeLinesAreIgnored() {
        let digest = MboxDigest(of: Array("From a@b Mon Nov 23 11:48:00 2026\nx\n\n".utf8))
        let entry = MboxJournal.Entry(id: "0123456789AB.3", inode: 77, offset: 1024, digest: digest)
        XCTAssertEqual(MboxJournal.Entry(line: entry.line), entry)
        for bad in [
            "", "0123456789AB.3 77 1024", entry.line + " extra", "0123456789ab.3 77 1024 5 0000000000000000 00",
            "0123456789AB 77 1024 5 0000000000000000 0000000000", "0123456789AB.3 77 -1 5 0000000000000000 0000000000",
            "0123456789AB.3 77 0 5 000000000000000 0000000000", "0123456789AB.3 77 0 5 0000000000000000 00",
        ] {
            XCTAssertNil(MboxJournal.Entry(line: bad), bad)
        }
    }

    func testDigestRecognisesItsOwnStartOnly() {
        let output = Array(String(repeating: "From x\nline of text\n", count: 400).utf8)
        let digest = MboxDigest(of: output)
        for cut in [1, 5, 63, 64, 65, 1000, 4095, 4096, 4097, output.count - 1, output.count] {
            XCTAssertTrue(digest.couldStart(with: Array(output[0..<cut])), "cut at \(cut)")
        }
        var other = Array(output[0..<5000])
        other[4000] = UInt8(ascii: "#")
        XCTAssertFalse(digest.couldStart(with: other))
        XCTAssertFalse(digest.couldStart(with: Array("Fron".utf8)))
        XCTAssertFalse(digest.couldStart(with: output + [0x0A]))
    }

    // MARK: mbox

    func testFirstDeliveryWritesAJournalLineBeforeItsBytes() throws {
        let box = scratch.path("bob")
        let report = try deliver(box, id: "0123456789AB.0", maybe: false)
        XCTAssertFalse(report.alreadyDelivered)
        XCTAssertEqual(report.notes, [])
        let journal = String(decoding: try mboxRead(scratch.path(".bob.postern-journal")), as: UTF8.self)
        let entry = try XCTUnwrap(MboxJournal.Entry(line: journal.dropLast()))
        XCTAssertEqual(entry.id, "0123456789AB.0")
        XCTAssertEqual(entry.offset, 0)
        XCTAssertEqual(entry.digest.length, report.bytes)
        XCTAssertEqual(entry.inode, UInt64(try XCTUnwrap(mboxLstat(box)).st_ino))
    }

    func testARepeatThatMayHaveBeenDeliveredIsNotAppendedAgain() throws {
        let box = scratch.path("bob")
        _ = try deliver(box, id: "0123456789AB.0", maybe: false)
        // Other mail arrives in between; the repeat still finds its copy.
        _ = try deliver(box, id: "0123456789AC.0", maybe: false, message: "Subject: other\r\n\r\nx\r\n")
        let repeated = try deliver(box, id: "0123456789AB.0", maybe: true)
        XCTAssertTrue(repeated.alreadyDelivered)
        XCTAssertEqual(try count("Subject: once", in: box), 1)
        XCTAssertEqual(try count("Subject: other", in: box), 1)
    }

    func testAMaybeDeliveredThatWasNotIsDelivered() throws {
        let box = scratch.path("bob")
        _ = try deliver(box, id: "0123456789AC.0", maybe: false, message: "Subject: other\r\n\r\nx\r\n")
        let report = try deliver(box, id: "0123456789AB.0", maybe: true)
        XCTAssertFalse(report.alreadyDelivered)
        XCTAssertEqual(try count("Subject: once", in: box), 1)
    }

    func testAMailboxRewrittenSinceIsDeliveredAgainRatherThanLost() throws {
        let box = scratch.path("bob")
        _ = try deliver(box, id: "0123456789AB.0", maybe: false)
        // A reader deleted the message (same inode, emptied).
        XCTAssertEqual(truncate(box, 0), 0)
        let report = try deliver(box, id: "0123456789AB.0", maybe: true)
        XCTAssertFalse(report.alreadyDelivered)
        XCTAssertEqual(try count("Subject: once", in: box), 1)
    }

    func testACopyCutShortByAKilledWriterIsTakenOffBeforeTheNextAppend() throws {
        let box = scratch.path("bob")
        _ = try deliver(box, id: "0123456789AC.0", maybe: false, message: "Subject: first\r\n\r\nx\r\n")
        let before = try mboxRead(box)
        let long = "Subject: once\r\n\r\n" + String(repeating: "a long line of body text\r\n", count: 2000)
        _ = try deliver(box, id: "0123456789AB.0", maybe: false, message: long)
        // Simulate the kill: only part of the second append reached the file.
        for cut in [before.count + 3, before.count + 100, before.count + 30_000] {
            XCTAssertEqual(truncate(box, off_t(cut)), 0)
            let report = try deliver(box, id: "0123456789AD.0", maybe: false, message: "Subject: next\r\n\r\ny\r\n")
            XCTAssertEqual(report.notes.count, 1, "\(report.notes)")
            XCTAssertTrue(report.notes[0].contains("interrupted delivery (0123456789AB.0)"), report.notes[0])
            let text = String(decoding: try mboxRead(box), as: UTF8.self)
            XCTAssertFalse(text.contains("Subject: once"), "the partial copy must go (cut at \(cut))")
            XCTAssertTrue(text.hasSuffix("Subject: next\n\ny\n\n"), text)
            // The repeat of the interrupted delivery then writes it whole.
            XCTAssertFalse(try deliver(box, id: "0123456789AB.0", maybe: true, message: long).alreadyDelivered)
            XCTAssertEqual(try count("Subject: once", in: box), 1)
            XCTAssertEqual(try count("a long line of body text", in: box), 2000)
            // Back to one message for the next cut.
            XCTAssertEqual(truncate(box, off_t(before.count)), 0)
            _ = try deliver(box, id: "0123456789AB.0", maybe: false, message: long)
        }
    }

    func testForeignBytesAfterTheRecordedOffsetAreLeftAlone() throws {
        let box = scratch.path("bob")
        _ = try deliver(box, id: "0123456789AB.0", maybe: false)
        let size = try mboxRead(box).count
        // Something else rewrote the end (same inode) with other bytes.
        XCTAssertEqual(truncate(box, 0), 0)
        try mboxAppend(box, Array(String(repeating: "x", count: size - 5).utf8))
        let report = try deliver(box, id: "0123456789AC.0", maybe: false, message: "Subject: next\r\n\r\ny\r\n")
        XCTAssertTrue(report.notes.first?.contains("left as it is") ?? false, "\(report.notes)")
        let text = String(decoding: try mboxRead(box), as: UTF8.self)
        XCTAssertTrue(text.hasPrefix(String(repeating: "x", count: size - 5) + "\n\nFrom alice@example.test"))
    }

    func testAJournalThatCannotBeCreatedLeavesDeliveryAtLeastOnce() throws {
        let box = scratch.path("bob")
        // A directory where the journal's name is taken by a symbolic link.
        XCTAssertEqual(symlink("/etc/passwd", scratch.path(".bob.postern-journal")), 0)
        let report = try deliver(box, id: "0123456789AB.0", maybe: false)
        XCTAssertFalse(report.alreadyDelivered)
        XCTAssertEqual(report.notes.count, 1)
        XCTAssertTrue(report.notes[0].hasPrefix("no delivery journal"), report.notes[0])
        XCTAssertEqual(try count("Subject: once", in: box), 1)
    }

    func testTheJournalIsCutDownWhenItGrows() throws {
        let box = scratch.path("bob")
        let journal = scratch.path(".bob.postern-journal")
        var i = 0
        while (try? mboxRead(journal).count) ?? 0 <= MboxJournal.compactAt {
            _ = try deliver(box, id: String(format: "0123456%05d.0", i), maybe: false, message: "S: \(i)\r\n\r\n")
            i += 1
        }
        _ = try deliver(box, id: "0123456ZZZZZ.0", maybe: false, message: "S: last\r\n\r\n")
        let size = try mboxRead(journal).count
        XCTAssertLessThanOrEqual(size, MboxJournal.keep + 300)
        // The newest deliveries are still known.
        let previous = String(format: "0123456%05d.0", i - 1)
        XCTAssertTrue(
            try deliver(box, id: previous, maybe: true, message: "S: \(i - 1)\r\n\r\n").alreadyDelivered)
    }

    // MARK: Maildir

    private func deliverToMaildir(_ home: String, id: String, maybe: Bool) throws -> MboxDeliveryReport {
        let fd = try scratch.messageFD(message)
        defer { close(fd) }
        return try MaildirDelivery.deliver(
            home: home, maildir: "Maildir/", messageFD: fd, expectedOwner: geteuid(),
            extraHeaders: ["Delivered-To: bob@example.test"],
            once: MaildirOnce(arrival: 1_795_434_480, deliveryID: id, maybeDelivered: maybe))
    }

    private func files(_ directory: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
    }

    func testAMaildirRepeatFindsItsFileInNewOrCur() throws {
        let home = scratch.path("home")
        XCTAssertEqual(mkdir(home, 0o755), 0)
        XCTAssertFalse(try deliverToMaildir(home, id: "0123456789AB.4", maybe: false).alreadyDelivered)
        let new = try files(home + "/Maildir/new")
        XCTAssertEqual(new.count, 1)
        XCTAssertTrue(new[0].hasPrefix("1795434480.0123456789AB_4."), new[0])
        // Still in new/: even an attempt not told so finds it (the link fails).
        XCTAssertTrue(try deliverToMaildir(home, id: "0123456789AB.4", maybe: false).alreadyDelivered)
        // A reader moved it to cur/ and flagged it.
        XCTAssertEqual(rename(home + "/Maildir/new/" + new[0], home + "/Maildir/cur/" + new[0] + ":2,S"), 0)
        XCTAssertTrue(try deliverToMaildir(home, id: "0123456789AB.4", maybe: true).alreadyDelivered)
        XCTAssertEqual(try files(home + "/Maildir/new"), [])
        XCTAssertEqual(try files(home + "/Maildir/tmp"), [])
        // Another recipient index is another delivery.
        XCTAssertFalse(try deliverToMaildir(home, id: "0123456789AB.40", maybe: true).alreadyDelivered)
        XCTAssertEqual(try files(home + "/Maildir/new").count, 1)
    }

    func testAMaildirFileLeftInTmpByAKilledAttemptIsReplaced() throws {
        let home = scratch.path("home")
        XCTAssertEqual(mkdir(home, 0o755), 0)
        _ = try deliverToMaildir(home, id: "0123456789AB.1", maybe: false)
        let name = try files(home + "/Maildir/new")[0]
        XCTAssertEqual(unlink(home + "/Maildir/new/" + name), 0)
        try mboxWrite(home + "/Maildir/tmp/" + name, Array("half".utf8), mode: 0o600)
        XCTAssertFalse(try deliverToMaildir(home, id: "0123456789AB.1", maybe: true).alreadyDelivered)
        let text = String(decoding: try mboxRead(home + "/Maildir/new/" + name), as: UTF8.self)
        XCTAssertTrue(text.hasPrefix("Delivered-To: bob@example.test\nSubject: once"), text)
        XCTAssertEqual(try files(home + "/Maildir/tmp"), [])
    }

    // MARK: dotlock of a dead writer

    func testADotlockOfAProcessThatIsGoneIsTakenAtOnce() throws {
        let box = scratch.path("bob")
        // A pid that exists no more: a child that has exited and been reaped.
        var pid: pid_t = 0
        var argv: [UnsafeMutablePointer<CChar>?] = [strdup("/bin/true"), nil]
        defer { argv.forEach { free($0) } }
        XCTAssertEqual(posix_spawn(&pid, "/bin/true", nil, nil, &argv, nil), 0)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        try mboxWrite(box + ".lock", Array("\(pid)\n".utf8), mode: 0o600)
        let started = Date()
        _ = try deliver(box, id: "0123456789AB.0", maybe: false)
        XCTAssertLessThan(Date().timeIntervalSince(started), 1.5)
        XCTAssertFalse(mboxExists(box + ".lock"))
    }

    func testADotlockOfALiveProcessIsRespected() throws {
        let box = scratch.path("bob")
        try mboxWrite(box + ".lock", Array("\(getpid())\n".utf8), mode: 0o600)
        let fd = try scratch.messageFD(message)
        defer { close(fd) }
        XCTAssertThrowsError(
            try MboxDelivery.deliver(
                path: box, messageFD: fd, envelopeSender: "a@b", arrival: 0, expectedOwner: geteuid(),
                extraHeaders: [], once: DeliveryOnce(id: "0123456789AB.0", maybeDelivered: false),
                options: .init(lockTimeout: .milliseconds(300)))
        ) { XCTAssertEqual($0 as? MboxError, .lockTimeout) }
    }
}

/// Appends to an existing file (a stand-in for another program's write).
func mboxAppend(_ path: String, _ bytes: [UInt8]) throws {
    let fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC)
    guard fd >= 0 else { throw MboxTestFailure("open \(path): errno \(errno)") }
    defer { close(fd) }
    let n = bytes.withUnsafeBytes { raw -> Int in
        guard let base = raw.baseAddress else { return 0 }
        return write(fd, base, raw.count)
    }
    guard n == bytes.count else { throw MboxTestFailure("write \(path): short") }
}
