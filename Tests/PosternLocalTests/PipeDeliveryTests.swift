import Foundation
import PosternIPC
import XCTest

@testable import PosternLocal

#if canImport(Glibc)
    import Glibc
#endif

/// `|command` deliveries against real programs: small /bin/sh scripts in a
/// temporary smrsh directory, which write what they saw into `out/`.
/// Runs as root (the smrsh directory must belong to root); one test forks a
/// child that becomes nobody first.
final class PipeDeliveryTests: XCTestCase {
    private var scratch: MboxScratch!
    private var smrsh = ""
    private var out = ""
    private var home = ""

    override func setUpWithError() throws {
        try XCTSkipUnless(geteuid() == 0, "the smrsh directory must belong to root")
        scratch = try MboxScratch()
        // Searchable by nobody, for the test that runs as nobody.
        XCTAssertEqual(chmod(scratch.dir, 0o755), 0)
        smrsh = scratch.path("smrsh")
        out = scratch.path("out")
        home = scratch.path("home")
        XCTAssertEqual(mkdir(smrsh, 0o755), 0)
        XCTAssertEqual(mkdir(out, 0o777), 0)
        XCTAssertEqual(chmod(out, 0o777), 0)
        XCTAssertEqual(mkdir(home, 0o755), 0)
    }

    override func tearDown() {
        scratch?.remove()
        scratch = nil
    }

    // MARK: what the program gets

    func testProgramReadsHeadersThenMessageWithLFLineEnds() throws {
        try install("vacation", "cat > \(out)/stdin")
        let outcome = try deliver(
            "|/usr/bin/vacation",
            message: "Subject: hi\r\n\r\nline one\r\nlone\rCR\r\nFrom here\r\nlast",
            headers: ["Return-Path: <alice@example.test>", "Delivered-To: bob@example.test"])
        XCTAssertEqual(outcome.status, .delivered, outcome.text)
        XCTAssertEqual(outcome.enhancedStatus, "2.0.0")
        XCTAssertEqual(
            try text(of: "stdin"),
            "Return-Path: <alice@example.test>\nDelivered-To: bob@example.test\n"
                + "Subject: hi\n\nline one\nlone\rCR\nFrom here\nlast")
    }

    func testEnvironmentIsFixedAndCarriesHostileValuesAsData() throws {
        let pwned = scratch.path("pwned")
        try install(
            "record",
            """
            env > \(out)/env
            printf '%s' "$SENDER" > \(out)/sender
            printf '%s' "$RECIPIENT" > \(out)/recipient
            printf '%s' "$ORIGINAL_RECIPIENT" > \(out)/original
            pwd > \(out)/pwd
            """)
        let context = PipeDeliveryContext(
            sender: "x;touch \(pwned)1;rm -rf /", recipient: "$(touch \(pwned)2)@example.test",
            originalRecipient: "`touch \(pwned)3`@example.test", local: "bob", domain: "example.test",
            queueID: "7Q3K9A", deliveryID: "7Q3K9A.2", user: "bob", home: home)
        let outcome = try deliver("record", context: context)
        XCTAssertEqual(outcome.status, .delivered, outcome.text)

        XCTAssertEqual(try text(of: "sender"), context.sender)
        XCTAssertEqual(try text(of: "recipient"), context.recipient)
        XCTAssertEqual(try text(of: "original"), context.originalRecipient)
        for n in 1...3 {
            XCTAssertFalse(mboxExists(pwned + "\(n)"), "an envelope value was executed")
        }
        var environment: [String: String] = [:]
        for line in try text(of: "env").split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            environment[String(parts[0])] = parts.count > 1 ? String(parts[1]) : ""
        }
        // The shell adds PWD itself; nothing else may be there.
        environment["PWD"] = nil
        XCTAssertEqual(
            environment,
            [
                "PATH": "/usr/bin:/bin", "HOME": home, "USER": "bob", "LOGNAME": "bob",
                "SENDER": context.sender, "RECIPIENT": context.recipient,
                "ORIGINAL_RECIPIENT": context.originalRecipient, "LOCAL": "bob", "DOMAIN": "example.test",
                "QUEUE_ID": "7Q3K9A", "DELIVERY_ID": "7Q3K9A.2",
            ])
        XCTAssertEqual(try text(of: "pwd"), home + "\n")
    }

    func testWorkingDirectoryIsRootWithoutAHome() throws {
        try install("record", "pwd > \(out)/pwd")
        var context = Self.context
        context.home = scratch.path("no-such-home")
        XCTAssertEqual(try deliver("record", context: context).status, .delivered)
        XCTAssertEqual(try text(of: "pwd"), "/\n")
    }

    func testPathIsStrippedAndWordsBecomeArguments() throws {
        try install("vacation", "printf '%s\\n' \"$@\" > \(out)/args")
        let outcome = try deliver("  |/usr/local/bin/vacation\t-a  alice@example.test   bob  ")
        XCTAssertEqual(outcome.status, .delivered, outcome.text)
        XCTAssertEqual(try text(of: "args"), "-a\nalice@example.test\nbob\n")
    }

    func testSymlinkInSmrshDirectoryRunsWithBaseNameAsArgv0() throws {
        // `sh` linked in by root: then `|/bin/sh script` is allowed, and the
        // shell's own argv shows what execve got.
        XCTAssertEqual(symlink("/bin/sh", smrsh + "/sh"), 0)
        let script = scratch.path("argv.sh")
        try mboxWrite(script, Array("tr '\\0' '\\n' < /proc/$$/cmdline > \(out)/cmdline\n".utf8), mode: 0o644)
        let outcome = try deliver("|/bin/sh \(script) one two")
        XCTAssertEqual(outcome.status, .delivered, outcome.text)
        XCTAssertEqual(try text(of: "cmdline"), "sh\n\(script)\none\ntwo\n")
    }

    func testNoDescriptorIsInheritedAndStdoutIsDevNull() throws {
        // A descriptor this process leaves open without close-on-exec.
        let leaked = open(scratch.dir, O_RDONLY | O_DIRECTORY)
        XCTAssertGreaterThanOrEqual(leaked, 0)
        defer { close(leaked) }
        try install(
            "fds",
            """
            ls /proc/self/fd > \(out)/fds
            stdout=$(readlink /proc/$$/fd/1)
            echo "$stdout" > \(out)/stdout
            true
            """)
        XCTAssertEqual(try deliver("fds").status, .delivered)
        // ls itself holds 3, the directory it lists.
        XCTAssertEqual(try text(of: "fds"), "0\n1\n2\n3\n")
        XCTAssertEqual(try text(of: "stdout"), "/dev/null\n")
    }

    // MARK: refusals run nothing

    func testMetacharactersAndForeignProgramsAreRefusedAndNothingRuns() throws {
        try install("vacation", "touch \(out)/ran")
        let marker = scratch.path("marker")
        let commands = [
            "|/bin/sh -c \"touch \(marker)\"",
            "|/bin/sh -c touch",
            "|sh",
            "vacation; touch \(marker)",
            "vacation && touch \(marker)",
            "vacation || touch \(marker)",
            "vacation | touch \(marker)",
            "vacation `touch \(marker)`",
            "vacation $(touch \(marker))",
            "vacation ${IFS}",
            "vacation > \(marker)",
            "vacation < /etc/passwd",
            "vacation\ntouch \(marker)",
            "vacation\rtouch",
            "vacation\u{0}",
            "vacation *",
            "vacation ~root",
            "vacation 'x'",
            "vacation \\x",
            "HOME=/ vacation",
            "vacation # comment",
            "vacation !!",
            "vacation {a,b}",
            "vacation [ab]",
            "vacation %1",
            "vacation ^x",
            "vacation caf\u{E9}",
            "|../../bin/touch \(marker)",
            "|..",
            "|.",
            "|/usr/bin/..",
            "|/usr/bin/",
            "|nonexistent",
            "",
            "|",
            "  |  ",
        ]
        for command in commands {
            let outcome = try deliver(command)
            XCTAssertEqual(outcome.status, .failed, "\(command.debugDescription): \(outcome.text)")
            XCTAssertEqual(outcome.enhancedStatus, "5.7.1", command.debugDescription)
            XCTAssertTrue(outcome.detail.contains("not available for sendmail programs"), outcome.text)
        }
        XCTAssertFalse(mboxExists(marker))
        XCTAssertFalse(mboxExists(out + "/ran"), "a refused command ran the program")
    }

    func testSmrshDirectoryMustBelongToRootAndNotBeWritableByOthers() throws {
        try install("vacation", "touch \(out)/ran")
        XCTAssertEqual(chmod(smrsh, 0o775), 0)
        XCTAssertEqual(try deliver("vacation").status, .failed)
        XCTAssertEqual(chmod(smrsh, 0o757), 0)
        XCTAssertEqual(try deliver("vacation").status, .failed)
        XCTAssertEqual(chmod(smrsh, 0o755), 0)
        XCTAssertEqual(chown(smrsh, 65534, 65534), 0)
        let outcome = try deliver("vacation")
        XCTAssertEqual(outcome.status, .failed)
        XCTAssertTrue(outcome.detail.contains("owned by uid 65534"), outcome.text)
        XCTAssertFalse(mboxExists(out + "/ran"))
        XCTAssertEqual(chown(smrsh, 0, 0), 0)
        XCTAssertEqual(try deliver("vacation").status, .delivered, "the same program runs once the directory is safe")
    }

    func testOnlyExecutableRegularFilesRun() throws {
        try install("plain", "touch \(out)/ran", mode: 0o644)
        try install("shared", "touch \(out)/ran", mode: 0o775)
        XCTAssertEqual(mkdir(smrsh + "/directory", 0o755), 0)
        let target = scratch.path("not-executable")
        try mboxWrite(target, Array("#!/bin/sh\ntouch \(out)/ran\n".utf8), mode: 0o644)
        XCTAssertEqual(symlink(target, smrsh + "/linked"), 0)
        XCTAssertEqual(symlink(scratch.path("missing"), smrsh + "/dangling"), 0)
        for program in ["plain", "shared", "directory", "linked", "dangling"] {
            let outcome = try deliver(program)
            XCTAssertEqual(outcome.status, .failed, "\(program): \(outcome.text)")
            XCTAssertEqual(outcome.enhancedStatus, "5.7.1", program)
        }
        XCTAssertFalse(mboxExists(out + "/ran"))
    }

    // MARK: exit status

    func testExitStatusesMapToDeliveredDeferredAndFailed() throws {
        try install("tempfail", "echo 'try later' >&2; exit 75")
        try install("oserr", "exit 71")
        try install("nouser", "exit 67")
        try install("noperm", "exit 77")
        try install("signal", "kill -TERM $$")
        let cases: [(String, RecipientOutcome.Status, String)] = [
            ("tempfail", .deferred, "4.0.0"),
            ("oserr", .deferred, "4.0.0"),
            ("nouser", .failed, "5.1.1"),
            ("noperm", .failed, "5.7.1"),
            ("signal", .deferred, "4.3.0"),
        ]
        for (program, status, code) in cases {
            let outcome = try deliver(program)
            XCTAssertEqual(outcome.status, status, "\(program): \(outcome.text)")
            XCTAssertEqual(outcome.enhancedStatus, code, "\(program): \(outcome.text)")
        }
        XCTAssertTrue(try deliver("tempfail").detail.hasSuffix("status 75 (EX_TEMPFAIL): try later"))
        XCTAssertTrue(try deliver("signal").detail.contains("signal 15"))
    }

    func testFailureQuotesStderrOnOneLine() throws {
        try install("fails", "printf 'mailbox quota\\r\\nexceeded\\tfor \\001bob\\n\\n' >&2; exit 1")
        let outcome = try deliver("fails")
        XCTAssertEqual(outcome.status, .failed)
        XCTAssertEqual(outcome.enhancedStatus, "5.3.0")
        XCTAssertEqual(outcome.detail, "program fails exited with status 1: mailbox quota exceeded for bob")
    }

    func testLargeStderrIsDrainedAndBounded() throws {
        // 100 KB of diagnostics before reading a 1 MB message: both pipes
        // must be serviced at once or the program and we wait on each other.
        try install(
            "noisy",
            """
            head -c 102400 /dev/zero | tr '\\0' e >&2
            cat > /dev/null
            exit 1
            """)
        let started = MboxSystem.monotonicNanoseconds()
        let outcome = try deliver("noisy", message: String(repeating: "x", count: 1 << 20), timeLimit: .seconds(30))
        XCTAssertLessThan(MboxSystem.monotonicNanoseconds() - started, 20_000_000_000)
        XCTAssertEqual(outcome.status, .failed, outcome.text)
        XCTAssertTrue(outcome.detail.hasSuffix(": " + String(repeating: "e", count: 512)), outcome.detail)
    }

    func testProgramThatIgnoresALargeMessageIsDelivered() throws {
        try install("ignores", "exit 0")
        // Default SIGPIPE: if the writer relied on it being ignored, the
        // test process would die here.
        let previous = signal(SIGPIPE, SIG_DFL)
        defer { signal(SIGPIPE, previous) }
        let outcome = try deliver("ignores", message: String(repeating: "y", count: 4 << 20))
        XCTAssertEqual(outcome.status, .delivered, outcome.text)
        var pending = sigset_t()
        sigpending(&pending)
        XCTAssertEqual(sigismember(&pending, SIGPIPE), 0, "a SIGPIPE was left pending")
        var mask = sigset_t()
        pthread_sigmask(SIG_SETMASK, nil, &mask)
        XCTAssertEqual(sigismember(&mask, SIGPIPE), 0, "SIGPIPE was left blocked")
    }

    func testProgramThatClosesItsPipesIsStillWaitedFor() throws {
        try install("quiet", "exec 0<&- 2>&-\nsleep 0.3\nexit 75")
        XCTAssertEqual(try deliver("quiet").status, .deferred)
    }

    // MARK: time limit

    func testTimeLimitKillsTheProgramAndWhatItStarted() throws {
        try install(
            "sleeper",
            """
            sleep 60 &
            echo $! > \(out)/grandchild
            sleep 60
            """)
        let started = MboxSystem.monotonicNanoseconds()
        let outcome = try deliver("sleeper", timeLimit: .seconds(1))
        let elapsed = MboxSystem.monotonicNanoseconds() - started
        XCTAssertEqual(outcome.status, .deferred, outcome.text)
        XCTAssertEqual(outcome.enhancedStatus, "4.3.0")
        XCTAssertTrue(outcome.detail.contains("time limit of 1 s"), outcome.detail)
        XCTAssertGreaterThanOrEqual(elapsed, 900_000_000)
        XCTAssertLessThan(elapsed, 10_000_000_000)

        let grandchild = try XCTUnwrap(
            Int32(try text(of: "grandchild").trimmingCharacters(in: .whitespacesAndNewlines)))
        var gone = false
        for _ in 0..<100 where !gone {
            gone = !isRunning(grandchild)
            if !gone { usleep(20_000) }
        }
        XCTAssertTrue(gone, "the background child of the program survived the time limit")
    }

    // MARK: as the recipient

    func testRunsAsTheUserOfTheWorker() throws {
        try install("whoami", "id -u > \(out)/uid\nid -g > \(out)/gid\ncat > /dev/null")
        // Resolve lazily initialised state before forking.
        XCTAssertEqual(try deliver("whoami").status, .delivered)
        XCTAssertEqual(try text(of: "uid"), "0\n")
        XCTAssertEqual(unlink(out + "/uid"), 0)
        XCTAssertEqual(unlink(out + "/gid"), 0)
        let fd = try scratch.messageFD("Subject: as nobody\r\n\r\nhi\r\n")
        defer { close(fd) }
        let smrsh = self.smrsh
        var context = Self.context
        context.home = "/nonexistent"
        let report = try runAsNobody {
            PipeDelivery.deliver(
                command: "|whoami", smrshDirectory: smrsh, context: context, messageFD: fd, extraHeaders: []
            ).text
        }
        XCTAssertEqual(report, "2.0.0 delivered to program whoami")
        XCTAssertEqual(try text(of: "uid"), "65534\n")
        XCTAssertEqual(try text(of: "gid"), "65534\n")
    }

    // MARK: - Support

    private static let context = PipeDeliveryContext(
        sender: "alice@example.test", recipient: "bob@example.test", originalRecipient: "bob@example.test",
        local: "bob", domain: "example.test", queueID: "7Q3K9A", user: "bob", home: "/")

    private func install(_ name: String, _ body: String, mode: mode_t = 0o755) throws {
        let path = smrsh + "/" + name
        _ = unlink(path)
        try mboxWrite(path, Array("#!/bin/sh\n\(body)\n".utf8), mode: mode)
    }

    private func deliver(
        _ command: String, message: String = "Subject: test\r\n\r\nbody\r\n", headers: [String] = [],
        context: PipeDeliveryContext? = nil, timeLimit: Duration = .seconds(20)
    ) throws -> PipeDeliveryOutcome {
        let fd = try scratch.messageFD(message)
        defer { close(fd) }
        var usedContext = context ?? Self.context
        if context == nil { usedContext.home = home }
        return PipeDelivery.deliver(
            command: command, smrshDirectory: smrsh, context: usedContext, messageFD: fd, extraHeaders: headers,
            options: .init(timeLimit: timeLimit))
    }

    private func text(of name: String) throws -> String {
        String(decoding: try mboxRead(out + "/" + name), as: UTF8.self)
    }

    /// Alive and not a zombie (a container's init may not reap orphans).
    private func isRunning(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return false }
        let state = stat[stat.index(close, offsetBy: 2)...].prefix(1)
        return state != "Z" && state != "X"
    }
}
