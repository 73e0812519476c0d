import Glibc
import PosternLocal
import XCTest

/// Maildir delivery as the worker does it (the tests run as root, so the
/// expected owner is root).
final class MaildirDeliveryTests: XCTestCase {
    private var home = ""

    override func setUpWithError() throws {
        var template = Array("/tmp/postern-maildir-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return false }
            return mkdtemp(base) != nil
        }
        guard made else { throw XCTSkip("mkdtemp failed") }
        home = String(cString: template)
    }

    override func tearDown() {
        _ = try? FileManagerLite.removeTree(home)
    }

    private func messageFD(_ text: String) throws -> Int32 {
        let path = home + "/spooled"
        let fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0o600)
        XCTAssertGreaterThanOrEqual(fd, 0)
        let bytes = Array(text.utf8)
        XCTAssertEqual(write(fd, bytes, bytes.count), bytes.count)
        unlink(path)
        return fd
    }

    private func entries(_ dir: String) -> [String] {
        guard let d = opendir(dir) else { return [] }
        defer { closedir(d) }
        var names: [String] = []
        while let e = readdir(d) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    private func read(_ path: String) -> String {
        let fd = open(path, O_RDONLY)
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: 65_536)
        let n = Glibc.read(fd, &bytes, bytes.count)
        return String(decoding: bytes.prefix(max(n, 0)), as: UTF8.self)
    }

    func testDeliversIntoNewWithLFLineEndsAndCreatesTheMaildir() throws {
        let fd = try messageFD("Subject: hi\r\n\r\nline one\r\nbare\rcr\r\n")
        defer { close(fd) }
        let n = try MaildirDelivery.deliver(
            home: home, maildir: "Maildir/", messageFD: fd, expectedOwner: getuid(),
            extraHeaders: ["Return-Path: <a@b.test>"])
        XCTAssertEqual(entries(home + "/Maildir"), ["cur", "new", "tmp"])
        XCTAssertEqual(entries(home + "/Maildir/tmp"), [])
        let delivered = entries(home + "/Maildir/new")
        XCTAssertEqual(delivered.count, 1)
        let text = read(home + "/Maildir/new/" + delivered[0])
        XCTAssertEqual(text, "Return-Path: <a@b.test>\nSubject: hi\n\nline one\nbare\rcr\n")
        XCTAssertEqual(n, text.utf8.count)
        var info = stat()
        XCTAssertEqual(stat(home + "/Maildir/new/" + delivered[0], &info), 0)
        XCTAssertEqual(info.st_mode & 0o777, 0o600)
        XCTAssertEqual(stat(home + "/Maildir", &info), 0)
        XCTAssertEqual(info.st_mode & 0o777, 0o700)
    }

    func testEveryDeliveryGetsItsOwnName() throws {
        let fd = try messageFD("Subject: x\r\n\r\nbody\r\n")
        defer { close(fd) }
        for _ in 0..<5 {
            _ = try MaildirDelivery.deliver(
                home: home, maildir: "Mail/inbox/", messageFD: fd, expectedOwner: getuid(), extraHeaders: [])
        }
        XCTAssertEqual(Set(entries(home + "/Mail/inbox/new")).count, 5)
    }

    func testASymlinkAnywhereBelowTheHomeIsRefused() throws {
        let fd = try messageFD("Subject: x\r\n\r\nbody\r\n")
        defer { close(fd) }
        let elsewhere = home + "/elsewhere"
        XCTAssertEqual(mkdir(elsewhere, 0o700), 0)
        XCTAssertEqual(symlink(elsewhere, home + "/Maildir"), 0)
        XCTAssertThrowsError(
            try MaildirDelivery.deliver(
                home: home, maildir: "Maildir/", messageFD: fd, expectedOwner: getuid(), extraHeaders: [])
        ) { error in
            guard case .unsafeMailbox = error as? MboxError else { return XCTFail("\(error)") }
        }
        XCTAssertEqual(entries(elsewhere), [], "nothing was created through the link")
        unlink(home + "/Maildir")
        XCTAssertEqual(mkdir(home + "/Maildir", 0o700), 0)
        XCTAssertEqual(symlink(elsewhere, home + "/Maildir/new"), 0)
        XCTAssertThrowsError(
            try MaildirDelivery.deliver(
                home: home, maildir: "Maildir/", messageFD: fd, expectedOwner: getuid(), extraHeaders: []))
        XCTAssertEqual(entries(elsewhere), [])
        XCTAssertEqual(entries(home + "/Maildir/tmp"), [], "the tmp file was removed")
    }

    func testAMaildirOfAnotherUserOrWritableByOthersIsRefused() throws {
        let fd = try messageFD("Subject: x\r\n\r\nbody\r\n")
        defer { close(fd) }
        XCTAssertEqual(mkdir(home + "/Maildir", 0o700), 0)
        XCTAssertEqual(chown(home + "/Maildir", 65_534, 65_534), 0)
        XCTAssertThrowsError(
            try MaildirDelivery.deliver(
                home: home, maildir: "Maildir/", messageFD: fd, expectedOwner: getuid(), extraHeaders: []))
        XCTAssertEqual(chown(home + "/Maildir", getuid(), getgid()), 0)
        XCTAssertEqual(chmod(home + "/Maildir", 0o777), 0)
        XCTAssertThrowsError(
            try MaildirDelivery.deliver(
                home: home, maildir: "Maildir/", messageFD: fd, expectedOwner: getuid(), extraHeaders: []))
        XCTAssertEqual(entries(home + "/Maildir"), [])
    }
}

/// Recursive removal without Foundation.
enum FileManagerLite {
    static func removeTree(_ path: String) throws {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        if info.st_mode & S_IFMT == S_IFDIR {
            if let d = opendir(path) {
                var names: [String] = []
                while let e = readdir(d) {
                    let name = withUnsafeBytes(of: e.pointee.d_name) {
                        String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self)
                    }
                    if name != "." && name != ".." { names.append(name) }
                }
                closedir(d)
                for name in names { try removeTree(path + "/" + name) }
            }
            rmdir(path)
        } else {
            unlink(path)
        }
    }
}
