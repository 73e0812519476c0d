import PosternIPC
import XCTest

@testable import PosternLocal

/// The pure parts of `|command` delivery: the smrsh parser, the exit status
/// mapping, stderr clean-up, line ends and the environment.
final class SmrshCommandTests: XCTestCase {
    private let smrsh = "/etc/postern/smrsh"

    private func parse(_ text: String, directory: String? = nil) throws -> SmrshCommand {
        try SmrshCommand(parsing: text, smrshDirectory: directory ?? smrsh)
    }

    private func refusal(_ text: String, directory: String? = nil) -> SmrshRefusal? {
        do {
            _ = try SmrshCommand(parsing: text, smrshDirectory: directory ?? smrsh)
            return nil
        } catch {
            return error
        }
    }

    // MARK: parser

    func testVacationLineFromAForwardFile() throws {
        let command = try parse("|/usr/bin/vacation -a alice alice")
        XCTAssertEqual(command.program, "vacation")
        XCTAssertEqual(command.path, "/etc/postern/smrsh/vacation")
        XCTAssertEqual(command.arguments, ["vacation", "-a", "alice", "alice"])
    }

    func testBlanksPipeSignAndTrailingSlashOfTheDirectory() throws {
        let command = try parse(" \t| procmail\t -f-  +folder ", directory: "/etc/smrsh/")
        XCTAssertEqual(command.path, "/etc/smrsh/procmail")
        XCTAssertEqual(command.arguments, ["procmail", "-f-", "+folder"])
        XCTAssertEqual(try parse("vacation").arguments, ["vacation"])
        XCTAssertEqual(try parse("../../usr/bin/vacation x").path, "/etc/postern/smrsh/vacation")
    }

    func testEveryMetacharacterRefusesTheWholeCommand() {
        for byte in SmrshCommand.metacharacters {
            let text = "vacation a" + String(Character(Unicode.Scalar(byte))) + "b"
            XCTAssertEqual(refusal(text), .forbiddenCharacter(byte), text)
        }
        XCTAssertEqual(SmrshCommand.metacharacters.count, 24)
    }

    func testControlAndNonASCIIBytesAreRefused() {
        for byte in UInt8(0)..<0x20 where byte != 0x09 {
            let text = "vacation a" + String(Character(Unicode.Scalar(byte))) + "b"
            XCTAssertEqual(refusal(text), .forbiddenCharacter(byte), "byte \(byte)")
        }
        XCTAssertEqual(refusal("vacation \u{7F}"), .forbiddenCharacter(0x7F))
        XCTAssertEqual(refusal("vacation caf\u{E9}"), .forbiddenCharacter(0xC3))
        XCTAssertEqual(refusal("|/bin/sh -c \"rm -rf /\""), .forbiddenCharacter(UInt8(ascii: "\"")))
    }

    func testProgramNamesThatNameNothing() {
        XCTAssertEqual(refusal(""), .emptyCommand)
        XCTAssertEqual(refusal("|"), .emptyCommand)
        XCTAssertEqual(refusal(" |\t "), .emptyCommand)
        XCTAssertEqual(refusal("||"), .forbiddenCharacter(UInt8(ascii: "|")))
        XCTAssertEqual(refusal("|.."), .invalidProgramName(".."))
        XCTAssertEqual(refusal("|."), .invalidProgramName("."))
        XCTAssertEqual(refusal("/usr/bin/.. x"), .invalidProgramName("/usr/bin/.."))
        XCTAssertEqual(refusal("/usr/bin/ x"), .invalidProgramName("/usr/bin/"))
    }

    func testLimitsAndDirectory() {
        let long = "vacation " + String(repeating: "a", count: SmrshCommand.maximumLength)
        XCTAssertEqual(refusal(long), .commandTooLong(bytes: long.utf8.count))
        XCTAssertNotNil(try? parse("vacation " + String(repeating: "a", count: SmrshCommand.maximumLength - 9)))
        XCTAssertEqual(refusal("vacation", directory: "smrsh"), .invalidSmrshDirectory("smrsh"))
        XCTAssertEqual(refusal("vacation", directory: ""), .invalidSmrshDirectory(""))
    }

    func testRefusalsExplainThemselvesOnOneLine() {
        let refusals: [SmrshRefusal] = [
            .emptyCommand, .commandTooLong(bytes: 5000), .forbiddenCharacter(0x0A), .forbiddenCharacter(0x3B),
            .invalidProgramName(".."), .programUnavailable(program: "sh", reason: "no such program in /x"),
        ]
        for refusal in refusals {
            XCTAssertTrue(refusal.explanation.contains("not available for sendmail programs"), refusal.explanation)
            XCTAssertFalse(refusal.explanation.contains("\n"))
        }
        XCTAssertTrue(SmrshRefusal.forbiddenCharacter(0x0A).explanation.contains("byte 0x0A"))
        XCTAssertTrue(SmrshRefusal.forbiddenCharacter(0x3B).explanation.contains("character ';'"))
        let outcome = PipeDeliveryOutcome.refused(.emptyCommand)
        XCTAssertEqual(outcome.status, .failed)
        XCTAssertTrue(outcome.text.hasPrefix("5.7.1 "))
    }

    // MARK: exit status mapping

    func testWaitStatusDecoding() {
        XCTAssertEqual(ProgramTermination(waitStatus: 0), .exited(0))
        XCTAssertEqual(ProgramTermination(waitStatus: 75 << 8), .exited(75))
        XCTAssertEqual(ProgramTermination(waitStatus: 255 << 8), .exited(255))
        XCTAssertEqual(ProgramTermination(waitStatus: 9), .signaled(9))
        XCTAssertEqual(ProgramTermination(waitStatus: 0x80 | 11), .signaled(11))  // with core dump
    }

    func testSysexitsMapping() {
        let expected: [(Int32, RecipientOutcome.Status, String)] = [
            (0, .delivered, "2.0.0"), (1, .failed, "5.3.0"), (2, .failed, "5.3.0"), (64, .failed, "5.0.0"),
            (65, .failed, "5.6.0"), (67, .failed, "5.1.1"), (68, .failed, "5.1.2"), (69, .failed, "5.0.0"),
            (70, .failed, "5.3.0"), (71, .deferred, "4.0.0"), (72, .failed, "5.3.5"), (73, .failed, "5.0.0"),
            (74, .deferred, "4.0.0"), (75, .deferred, "4.0.0"), (76, .failed, "5.5.0"), (77, .failed, "5.7.1"),
            (78, .failed, "5.3.5"), (126, .failed, "5.3.0"), (255, .failed, "5.3.0"),
        ]
        for (code, status, enhanced) in expected {
            let outcome = mapped(.exited(code))
            XCTAssertEqual(outcome.status, status, "exit \(code)")
            XCTAssertEqual(outcome.enhancedStatus, enhanced, "exit \(code)")
        }
        XCTAssertEqual(mapped(.exited(67)).detail, "program vacation exited with status 67 (EX_NOUSER)")
        XCTAssertEqual(mapped(.exited(1)).detail, "program vacation exited with status 1")
    }

    func testKillsAndLostStatusesDefer() {
        for termination: ProgramTermination in [
            .signaled(9), .timedOut, .inputUnreadable(errno: 5), .statusLost(errno: 10),
        ] {
            let outcome = mapped(termination)
            XCTAssertEqual(outcome.status, .deferred, "\(termination)")
            XCTAssertEqual(outcome.enhancedStatus, "4.3.0", "\(termination)")
        }
        XCTAssertEqual(
            mapped(.timedOut, stderr: "still working\n").detail,
            "program vacation was killed after the time limit of 90 s: still working")
    }

    func testStderrBecomesOneBoundedLineOfASCII() {
        XCTAssertNil(ProgramDiagnostics.oneLine([]))
        XCTAssertNil(ProgramDiagnostics.oneLine(Array(" \r\n\t\u{1}".utf8)))
        XCTAssertEqual(
            ProgramDiagnostics.oneLine(Array("  quota\r\n550 forged\u{1B}[2J\tcaf\u{E9} \n".utf8)),
            "quota 550 forged [2J caf??")
        let long = ProgramDiagnostics.oneLine([UInt8](repeating: UInt8(ascii: "e"), count: 5000))
        XCTAssertEqual(long?.count, ProgramDiagnostics.capturedBytes)
    }

    private func mapped(_ termination: ProgramTermination, stderr: String = "") -> PipeDeliveryOutcome {
        PipeDeliveryOutcome(
            program: "vacation", termination: termination, stderr: Array(stderr.utf8), timeLimit: .seconds(90))
    }

    // MARK: input and environment

    func testLineEndsConvertTheSameWhereverChunksSplit() {
        let input = Array("a\r\nb\rc\r\r\nd\r".utf8)
        let expected = Array("a\nb\rc\r\nd\r".utf8)
        for split in 0...input.count {
            var converter = LineEndConverter()
            var out: [UInt8] = []
            converter.convert(input[0..<split], into: &out)
            converter.convert(input[split...], into: &out)
            converter.finish(into: &out)
            XCTAssertEqual(out, expected, "split at \(split)")
        }
    }

    func testEnvironmentRefusesNUL() {
        var context = PipeDeliveryContext(
            sender: "a@b", recipient: "c@d", originalRecipient: "c@d", local: "c", domain: "d", queueID: "Q",
            user: "c", home: "/home/c")
        XCTAssertEqual(context.environment?.first, "PATH=/usr/bin:/bin")
        XCTAssertEqual(context.environment?.count, 11)
        context.sender = "a\u{0}b"
        XCTAssertNil(context.environment)
    }
}
