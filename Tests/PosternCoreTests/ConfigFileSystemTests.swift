import XCTest

@testable import PosternCore

#if canImport(Glibc)
    import Glibc
#endif

/// The checks the master and `postern check` make (checkFileSystem: true),
/// and `load(path:)`, against a scratch directory.
final class ConfigFileSystemTests: XCTestCase {
    var root = ""
    /// Everything created under root, removed in reverse order afterwards.
    var created: [(path: String, isDirectory: Bool)] = []

    override func setUpWithError() throws {
        var template = Array("/tmp/postern-config-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { buffer -> UnsafeMutablePointer<CChar>? in
            guard let base = buffer.baseAddress else { return nil }
            return mkdtemp(base)
        }
        try XCTSkipIf(made == nil, "mkdtemp failed")
        root = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        for name in ["etc", "spool", "empty", "mail", "jail", "smrsh", "run", "log", "drop"] {
            try makeDirectory(name)
        }
    }

    override func tearDown() {
        for item in created.reversed() {
            _ = item.isDirectory ? rmdir(item.path) : unlink(item.path)
        }
        rmdir(root)
    }

    func makeDirectory(_ name: String) throws {
        let path = "\(root)/\(name)"
        XCTAssertEqual(mkdir(path, 0o755), 0, path)
        created.append((path, true))
    }

    func writeFile(_ name: String, _ bytes: [UInt8], mode: mode_t = 0o644) throws -> String {
        let path = "\(root)/\(name)"
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        XCTAssertGreaterThanOrEqual(fd, 0, path)
        created.append((path, false))
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        XCTAssertEqual(written, bytes.count)
        close(fd)
        return path
    }

    /// The name of our own group: one that certainly exists here.
    var ownGroup: String {
        guard let entry = getgrgid(getgid()), let name = entry.pointee.gr_name else { return "root" }
        return String(cString: name)
    }

    /// A file setting every path option to a directory under root.
    var goodText: String {
        """
        ConfigDirectory = \(root)/etc
        QueueDirectory = \(root)/spool
        EmptyDirectory = \(root)/empty
        MailDirectory = \(root)/mail
        SafeFileEnvironment = \(root)/jail
        SmrshDirectory = \(root)/smrsh
        RunDirectory = \(root)/run
        LogFile = \(root)/log/postern.log
        MailGroup = \(ownGroup)
        MyHostname = mx.example.org
        DropDirectory = \(root)/drop
        """
    }

    func testExistingDirectoriesPass() throws {
        let config = try parseConfig(goodText, checkFileSystem: true).get()
        XCTAssertEqual(config.queueDirectory, "\(root)/spool")
        XCTAssertEqual(config.logFile, "\(root)/log/postern.log")
        XCTAssertEqual(config.mailGroup, ownGroup)
    }

    func testMissingDirectoryAndNotADirectory() throws {
        let file = try writeFile("plain", Array("x".utf8))
        let text =
            goodText
            .replacingAll("QueueDirectory = \(root)/spool", with: "QueueDirectory = \(root)/nonexistent")
            .replacingAll("RunDirectory = \(root)/run", with: "RunDirectory = \(file)")
        XCTAssertEqual(
            configErrors(text, checkFileSystem: true),
            [
                "test.conf:2: QueueDirectory: \(root)/nonexistent: no such directory",
                "test.conf:7: RunDirectory: \(root)/plain: not a directory",
            ])
        // The same text without the checks is fine: a chrooted child's view.
        XCTAssertNoThrow(try parseConfig(text, checkFileSystem: false).get())
    }

    func testLogFileChecks() throws {
        let noParent = goodText.replacingAll(
            "LogFile = \(root)/log/postern.log", with: "LogFile = \(root)/nolog/postern.log")
        XCTAssertEqual(
            configErrors(noParent, checkFileSystem: true),
            [
                "test.conf:8: LogFile: \(root)/nolog/postern.log: directory \(root)/nolog: no such directory"
            ])
        let isDirectory = goodText.replacingAll("LogFile = \(root)/log/postern.log", with: "LogFile = \(root)/log/")
        XCTAssertEqual(
            configErrors(isDirectory, checkFileSystem: true), ["test.conf:8: LogFile: \(root)/log: is a directory"])
    }

    func testUnknownMailGroup() {
        let text = goodText.replacingAll("MailGroup = \(ownGroup)", with: "MailGroup = no-such-group-postern")
        XCTAssertEqual(
            configErrors(text, checkFileSystem: true),
            ["test.conf:9: MailGroup: no such group \"no-such-group-postern\""])
    }

    func testDefaultsAreCheckedOnLineZero() {
        // Only QueueDirectory is set; the other defaults are checked as well,
        // and reported on line 0 (they are on no line), unless they exist here.
        let errors = configErrors("QueueDirectory = \(root)/spool\nMyHostname = mx.example.org", checkFileSystem: true)
        for error in errors {
            XCTAssertTrue(error.hasPrefix("test.conf:0: "), error)
            XCTAssertTrue(error.hasSuffix("(default value)"), error)
        }
        var info = stat()
        if stat("/run/postern", &info) != 0 {
            XCTAssertTrue(errors.contains("test.conf:0: RunDirectory: /run/postern: no such directory (default value)"))
        }
        XCTAssertFalse(errors.contains { $0.contains("QueueDirectory") })
    }

    func testLoadReadsTheFile() throws {
        let path = try writeFile("postern.conf", Array((goodText + "\nMaxHopCount = 7\n").utf8))
        let config = try ConfigLoader.load(path: path).get()
        XCTAssertEqual(config.sourcePath, path)
        XCTAssertEqual(config.maxHopCount, 7)
        XCTAssertEqual(config.queueDirectory, "\(root)/spool")
    }

    func testLoadReportsErrorsWithThePath() throws {
        let path = try writeFile("postern.conf", Array((goodText + "\nMaxHopCount = many\nBogus = 1\n").utf8))
        XCTAssertEqual(
            ConfigLoader.load(path: path),
            .failure(
                ConfigErrors([
                    ConfigError(file: path, line: 12, reason: "MaxHopCount: \"many\" is not a whole number"),
                    ConfigError(file: path, line: 13, reason: "unknown option \"Bogus\""),
                ])))
    }

    func testLoadOfAMissingFile() {
        let path = "\(root)/absent.conf"
        XCTAssertEqual(
            ConfigLoader.load(path: path).failureDescription,
            "\(path):0: cannot read: No such file or directory")
    }

    func testLoadOfADirectory() {
        XCTAssertEqual(
            ConfigLoader.load(path: "\(root)/etc").failureDescription,
            "\(root)/etc:0: cannot read: Is a directory")
    }

    func testLoadRefusesInvalidUTF8ByLine() throws {
        let bytes =
            Array("MaxHopCount = 5\nSmtpGreetingMessage = caf".utf8) + [0xE9] + Array("\n# ok\n\u{1}".utf8) + [0xFF]
        let path = try writeFile("latin1.conf", bytes)
        XCTAssertEqual(
            ConfigLoader.load(path: path).failureDescription,
            "\(path):2: not valid UTF-8\n\(path):4: not valid UTF-8")
    }

    func testLoadRefusesAHugeFile() throws {
        let path = try writeFile("huge.conf", [UInt8](repeating: 0x23, count: (1 << 20) + 10))
        XCTAssertEqual(
            ConfigLoader.load(path: path).failureDescription,
            "\(path):0: larger than 1048576 bytes; not a configuration file")
    }

    func testRenderRoundTripAfterACheckedLoad() throws {
        let path = try writeFile("postern.conf", Array(goodText.utf8))
        let config = try ConfigLoader.load(path: path).get()
        XCTAssertEqual(try ConfigLoader.parse(text: config.render(), file: path, checkFileSystem: false).get(), config)
        XCTAssertEqual(try ConfigLoader.parse(text: config.render(), file: path, checkFileSystem: true).get(), config)
    }
}

extension Result where Failure == ConfigErrors {
    var failureDescription: String? {
        if case .failure(let errors) = self { return errors.description }
        return nil
    }
}

extension String {
    /// Foundation-free replacement of every occurrence (test helper).
    func replacingAll(_ target: String, with replacement: String) -> String {
        guard !target.isEmpty else { return self }
        var out = ""
        var rest = Substring(self)
        while let range = rest.firstRange(of: target) {
            out += rest[..<range.lowerBound]
            out += replacement
            rest = rest[range.upperBound...]
        }
        return out + rest
    }
}
