import MailVocabulary
import XCTest

@testable import LocalSubmission

final class SendmailArgumentsTests: XCTestCase {
    private func parse(_ args: String...) throws -> SendmailInvocation {
        try SendmailArguments.parse(args)
    }

    private func assertUsageError(
        _ args: [String], contains text: String, file: StaticString = #filePath, line: UInt = #line
    ) {
        XCTAssertThrowsError(try SendmailArguments.parse(args), file: file, line: line) { error in
            guard let usage = error as? SendmailUsageError else { return XCTFail("\(error)", file: file, line: line) }
            XCTAssertTrue(usage.message.contains(text), usage.message, file: file, line: line)
        }
    }

    func testNoArgumentsIsDeliverWithDefaults() throws {
        let invocation = try parse()
        XCTAssertEqual(invocation, SendmailInvocation())
        XCTAssertEqual(invocation.mode, .deliver)
        XCTAssertEqual(invocation.errorMode, .print)
        XCTAssertEqual(invocation.deliveryMode, .background)
        XCTAssertNil(invocation.sender)
    }

    // MARK: What real programs run

    func testPHPMail() throws {
        let invocation = try parse("-t", "-i")
        XCTAssertTrue(invocation.extractRecipients)
        XCTAssertTrue(invocation.ignoreDots)
        XCTAssertEqual(invocation.recipients, [])
    }

    func testCron() throws {
        let invocation = try parse("-FCronDaemon", "-i", "-B8BITMIME", "-oem", "root")
        XCTAssertEqual(invocation.fullName, "CronDaemon")
        XCTAssertTrue(invocation.ignoreDots)
        XCTAssertEqual(invocation.bodyType, .eightBitMIME)
        XCTAssertEqual(invocation.errorMode, .mail)
        XCTAssertEqual(invocation.recipients, ["root"])
        XCTAssertEqual(invocation.notes, [])
    }

    func testGitSendEmail() throws {
        let invocation = try parse("-i", "--", "a@x", "b@y")
        XCTAssertTrue(invocation.ignoreDots)
        XCTAssertEqual(invocation.recipients, ["a@x", "b@y"])
    }

    func testMutt() throws {
        let invocation = try parse("-oem", "-oi", "--", "alice@example.test")
        XCTAssertEqual(invocation.errorMode, .mail)
        XCTAssertTrue(invocation.ignoreDots)
        XCTAssertEqual(invocation.recipients, ["alice@example.test"])
    }

    func testVerify() throws {
        let invocation = try parse("-bv", "alice")
        XCTAssertEqual(invocation.mode, .verify)
        XCTAssertEqual(invocation.recipients, ["alice"])
    }

    func testSMTPSession() throws {
        XCTAssertEqual(try parse("-bs").mode, .smtpSession)
        XCTAssertEqual(try parse("-b", "s").mode, .smtpSession)
    }

    // MARK: Grouping and arguments

    func testGroupedFlags() throws {
        let invocation = try parse("-tiv")
        XCTAssertTrue(invocation.extractRecipients)
        XCTAssertTrue(invocation.ignoreDots)
        XCTAssertTrue(invocation.verbose)
    }

    func testGroupEndsAtFlagWithValue() throws {
        let invocation = try parse("-tfalice@x", "bob")
        XCTAssertTrue(invocation.extractRecipients)
        XCTAssertEqual(invocation.sender, "alice@x")
        XCTAssertEqual(invocation.recipients, ["bob"])
        let separate = try parse("-tf", "alice@x")
        XCTAssertEqual(separate.sender, "alice@x")
    }

    func testAttachedAndSeparateValues() throws {
        XCTAssertEqual(try parse("-fuser@x").sender, "user@x")
        XCTAssertEqual(try parse("-f", "user@x").sender, "user@x")
        XCTAssertEqual(try parse("-r", "user@x").sender, "user@x")
        XCTAssertEqual(try parse("-F", "Cron Daemon").fullName, "Cron Daemon")
        XCTAssertEqual(try parse("-N", "success,failure").notify, [.success, .failure])
        XCTAssertEqual(try parse("-Nsuccess,failure").notify, [.success, .failure])
    }

    func testMissingValueIsUsageError() {
        for flag in ["-f", "-r", "-F", "-B", "-N", "-R", "-V", "-L", "-h", "-C", "-o", "-O", "-b", "-X", "-A"] {
            assertUsageError([flag], contains: "requires an argument")
        }
        assertUsageError(["-tf"], contains: "requires an argument -- f")
    }

    func testValueMayStartWithDash() throws {
        XCTAssertEqual(try parse("-F", "-weird-").fullName, "-weird-")
    }

    // MARK: Where the flags end

    func testFirstNonFlagEndsFlags() {
        assertUsageError(["alice", "-f", "x"], contains: "flags must come before the recipients: -f")
    }

    func testDoubleDashEndsFlagsAndTakesAnything() throws {
        XCTAssertEqual(try parse("--", "-odd@x", "b").recipients, ["-odd@x", "b"])
        XCTAssertEqual(try parse("--").recipients, [])
    }

    func testLoneDashIsUsageError() {
        assertUsageError(["-"], contains: "lone")
    }

    func testRecipientsSplitAtCommas() throws {
        XCTAssertEqual(try parse("a@x, b@y", "c@z").recipients, ["a@x", "b@y", "c@z"])
        XCTAssertEqual(try parse("a@x,,b@y,").recipients, ["a@x", "b@y"])
        XCTAssertEqual(
            try parse("\"Smith, J\" <j@x>, (a, comment) k@y").recipients, ["\"Smith, J\" <j@x>", "(a, comment) k@y"])
        XCTAssertEqual(try parse("<a@x, b@y>").recipients, ["<a@x, b@y>"])
        XCTAssertEqual(try parse("\"a\\\",b\"@x").recipients, ["\"a\\\",b\"@x"])
    }

    func testRecipientWithControlCharacterIsRefused() {
        assertUsageError(["a@x\nBcc: b@y"], contains: "invalid recipient")
    }

    // MARK: Sender

    func testNullSender() throws {
        XCTAssertEqual(try parse("-f", "<>").sender, "")
        XCTAssertEqual(try parse("-f", "").sender, "")
        XCTAssertEqual(try parse("-f<>").sender, "")
        XCTAssertEqual(try parse("-f", "<bob@x>").sender, "bob@x")
    }

    func testSecondSender() throws {
        XCTAssertEqual(try parse("-f", "a@x", "-r", "a@x").sender, "a@x")
        assertUsageError(["-f", "a@x", "-f", "b@x"], contains: "more than one sender")
    }

    // MARK: -o and -O

    func testErrorModes() throws {
        XCTAssertEqual(try parse("-oem").errorMode, .mail)
        XCTAssertEqual(try parse("-oep").errorMode, .print)
        XCTAssertEqual(try parse("-oeq").errorMode, .quiet)
        XCTAssertEqual(try parse("-oew").errorMode, .mail)
        XCTAssertEqual(try parse("-oee").errorMode, .mailAndExitZero)
        XCTAssertEqual(try parse("-o", "em").errorMode, .mail)
        XCTAssertEqual(try parse("-em").errorMode, .mail)
        XCTAssertEqual(try parse("-O", "ErrorMode=q").errorMode, .quiet)
        let unknown = try parse("-oez")
        XCTAssertEqual(unknown.errorMode, .print)
        XCTAssertEqual(unknown.notes, ["sendmail: option -oez ignored: unknown error mode"])
    }

    func testDeliveryModes() throws {
        XCTAssertEqual(try parse("-odb").deliveryMode, .background)
        XCTAssertEqual(try parse("-odi").deliveryMode, .interactive)
        XCTAssertEqual(try parse("-odq").deliveryMode, .queue)
        XCTAssertEqual(try parse("-odd").deliveryMode, .queue)
        XCTAssertEqual(try parse("-O", "DeliveryMode=i").deliveryMode, .interactive)
        XCTAssertEqual(try parse("-Odeliverymode=queue").deliveryMode, .queue)
        XCTAssertEqual(try parse("-odx").notes, ["sendmail: option -odx ignored: unknown delivery mode"])
    }

    func testIgnoreDotsOptions() throws {
        XCTAssertTrue(try parse("-oi").ignoreDots)
        XCTAssertTrue(try parse("-oiTrue").ignoreDots)
        XCTAssertFalse(try parse("-i", "-oif").ignoreDots)
        XCTAssertTrue(try parse("-O", "IgnoreDots=true").ignoreDots)
        XCTAssertTrue(try parse("-O", "IgnoreDots").ignoreDots)
        XCTAssertFalse(try parse("-i", "-O", "IgnoreDots=no").ignoreDots)
        XCTAssertEqual(try parse("-oimaybe").notes, ["sendmail: option -oimaybe ignored: not a boolean"])
    }

    func testOtherOptionsAreNotedNeverErrors() throws {
        let invocation = try parse("-oQ/var/spool", "-oA/etc/aliases", "-o7", "-o8", "-om", "-O", "QueueDirectory=/q")
        XCTAssertEqual(
            invocation.notes,
            [
                "sendmail: option -oQ/var/spool ignored", "sendmail: option -oA/etc/aliases ignored",
                "sendmail: option -o7 ignored", "sendmail: option -o8 ignored", "sendmail: option -om ignored",
                "sendmail: option -O QueueDirectory=/q ignored",
            ])
        XCTAssertEqual(invocation.mode, .deliver)
    }

    // MARK: Ignored flags

    func testSilentlyIgnoredFlags() throws {
        let invocation = try parse("-m", "-U", "-G", "-c", "-s", "-Am", "-A", "c", "root")
        XCTAssertEqual(invocation.notes, [])
        XCTAssertEqual(invocation.recipients, ["root"])
        assertUsageError(["-Ax"], contains: "-A takes m or c")
    }

    func testNotedIgnoredFlags() throws {
        let invocation = try parse("-n", "-X", "/tmp/log", "-d0.1", "-Mrvalue", "-pUUCP", "-D", "/tmp/d")
        XCTAssertEqual(
            invocation.notes,
            [
                "sendmail: -n ignored: aliases always apply", "sendmail: -X /tmp/log ignored",
                "sendmail: -d 0.1 ignored",
                "sendmail: -M rvalue ignored", "sendmail: -p UUCP ignored", "sendmail: -D /tmp/d ignored",
            ])
    }

    func testUnknownFlag() {
        assertUsageError(["-k"], contains: "unknown flag -k")
        assertUsageError(["-tk"], contains: "unknown flag -k")
        assertUsageError(["-Q"], contains: "unknown flag -Q")
    }

    // MARK: Modes

    func testModes() throws {
        XCTAssertEqual(try parse("-bm").mode, .deliver)
        XCTAssertEqual(try parse("-bp").mode, .printQueue)
        XCTAssertEqual(try parse("-bi").mode, .rebuildAliases)
        XCTAssertEqual(try parse("-I").mode, .rebuildAliases)
        XCTAssertEqual(try parse("-bd").mode, .daemon)
        XCTAssertEqual(try parse("-bD").mode, .daemon)
        XCTAssertEqual(try parse("-bs", "-bm").mode, .deliver)
        for mode in ["-bt", "-bP", "-bh", "-bH", "-bx", "-bmm"] {
            assertUsageError([mode], contains: "unsupported mode")
        }
    }

    // MARK: Queue runs

    func testQueueRuns() throws {
        XCTAssertEqual(try parse("-q").mode, .runQueue(QueueRunSelection()))
        XCTAssertEqual(try parse("-qf").mode, .runQueue(QueueRunSelection()))
        XCTAssertEqual(try parse("-q30m").mode, .runQueue(QueueRunSelection(interval: "30m")))
        XCTAssertEqual(try parse("-q1h30m").mode, .runQueue(QueueRunSelection(interval: "1h30m")))
        XCTAssertEqual(try parse("-q15").mode, .runQueue(QueueRunSelection(interval: "15")))
        XCTAssertEqual(try parse("-qp").mode, .runQueue(QueueRunSelection(interval: "persistent")))
        XCTAssertEqual(try parse("-qp5m").mode, .runQueue(QueueRunSelection(interval: "5m")))
        XCTAssertEqual(try parse("-qRexample").mode, .runQueue(QueueRunSelection(recipients: ["example"])))
        XCTAssertEqual(try parse("-qSbob").mode, .runQueue(QueueRunSelection(senders: ["bob"])))
        XCTAssertEqual(try parse("-qIABC").mode, .runQueue(QueueRunSelection(queueIDs: ["ABC"])))
        XCTAssertEqual(
            try parse("-qRa", "-qRb", "-qSc").mode,
            .runQueue(QueueRunSelection(recipients: ["a", "b"], senders: ["c"])))
        XCTAssertEqual(try parse("-vq").mode, .runQueue(QueueRunSelection()))
        XCTAssertTrue(QueueRunSelection().selectsAll)
        XCTAssertFalse(QueueRunSelection(senders: ["x"]).selectsAll)
    }

    func testQueueRunErrors() {
        assertUsageError(["-q!Rexample"], contains: "negated")
        assertUsageError(["-qR"], contains: "-qR needs a substring")
        assertUsageError(["-qQ"], contains: "unsupported queue run")
        assertUsageError(["-qL"], contains: "unsupported queue run")
        assertUsageError(["-qm30"], contains: "unsupported queue run")
        assertUsageError(["-qfx"], contains: "unsupported queue run")
    }

    func testQueueTakesNoSeparateArgument() throws {
        let invocation = try parse("-q", "alice")
        XCTAssertEqual(invocation.mode, .runQueue(QueueRunSelection()))
        XCTAssertEqual(invocation.recipients, ["alice"])
    }

    // MARK: DSN and friends

    func testBodyType() throws {
        XCTAssertEqual(try parse("-B", "7bit").bodyType, .sevenBit)
        XCTAssertEqual(try parse("-B8bitmime").bodyType, .eightBitMIME)
        assertUsageError(["-B", "binarymime"], contains: "-B takes 7BIT or 8BITMIME")
    }

    func testNotify() throws {
        XCTAssertEqual(try parse("-N", "never").notify, .never)
        XCTAssertEqual(try parse("-N", "NEVER").notify, .never)
        XCTAssertEqual(try parse("-N", "success,failure,delay").notify, [.success, .failure, .delay])
        XCTAssertEqual(try parse("-N", "success, delay").notify, [.success, .delay])
        assertUsageError(["-N", "never,success"], contains: "never cannot be combined")
        assertUsageError(["-N", "sometimes"], contains: "-N takes")
        assertUsageError(["-N", "success,,failure"], contains: "-N takes")
        assertUsageError(["-N", ""], contains: "-N takes")
    }

    func testReturn() throws {
        XCTAssertEqual(try parse("-R", "full").ret, .full)
        XCTAssertEqual(try parse("-RHDRS").ret, .headers)
        assertUsageError(["-R", "body"], contains: "-R takes full or hdrs")
    }

    func testEnvelopeID() throws {
        XCTAssertEqual(try parse("-V", "abc+123=").envelopeID, "abc+123=")
        XCTAssertEqual(try parse("-V", String(repeating: "x", count: 100)).envelopeID?.count, 100)
        assertUsageError(["-V", String(repeating: "x", count: 101)], contains: "-V takes")
        assertUsageError(["-V", "has space"], contains: "-V takes")
        assertUsageError(["-V", "caf\u{E9}"], contains: "-V takes")
    }

    func testHopCount() throws {
        XCTAssertEqual(try parse("-h", "5").hopCount, 5)
        XCTAssertEqual(try parse("-h0").hopCount, 0)
        assertUsageError(["-h", "five"], contains: "-h takes")
        assertUsageError(["-h", "-1"], contains: "-h takes")
        assertUsageError(["-h", "1001"], contains: "-h takes")
        assertUsageError(["-h", "99999999999999999999"], contains: "-h takes")
    }

    func testLogTagConfigVerbose() throws {
        let invocation = try parse("-L", "myscript", "-C", "/etc/postern/other.conf", "-v")
        XCTAssertEqual(invocation.logTag, "myscript")
        XCTAssertEqual(invocation.configFile, "/etc/postern/other.conf")
        XCTAssertTrue(invocation.verbose)
        assertUsageError(["-L", ""], contains: "invalid value for -L")
        assertUsageError(["-F", "x\r\nBcc: y"], contains: "invalid value for -F")
    }

    func testUsageTextMentionsTheMainFlags() {
        for flag in ["-t", "-i", "-f", "-bs", "-bv", "-q"] {
            XCTAssertTrue(SendmailArguments.usage.contains(flag), flag)
        }
        XCTAssertEqual(SendmailUsageError("x").description, "sendmail: x")
    }

    func testSysExits() {
        XCTAssertEqual(SysExits.usage.rawValue, 64)
        XCTAssertEqual(SysExits.dataErr.rawValue, 65)
        XCTAssertEqual(SysExits.tempFail.rawValue, 75)
        XCTAssertEqual(SysExits.config.rawValue, 78)
    }
}
