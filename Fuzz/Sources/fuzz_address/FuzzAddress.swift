/// The RFC 5321 path parser, every entry point with and without SMTPUTF8,
/// checked for consistency: between the entry points, between the two
/// modes (SMTPUTF8 only ever accepts more), through a round trip of the
/// parsed address, and against the MAIL/RCPT command parser.
import FuzzSupport
import SMTPFuzzSupport

@testable import SMTPProtocol

@_cdecl("LLVMFuzzerTestOneInput")
func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let input = fuzzBytes(data, size)
    let ascii = Parsed(input, allowUTF8: false)
    let utf8 = Parsed(input, allowUTF8: true)
    ascii.verify()
    utf8.verify()
    // What parses without SMTPUTF8 parses the same with it.
    if case .success = ascii.forward { check(ascii.forward == utf8.forward, "SMTPUTF8 changed a forward path") }
    if case .success = ascii.reverse { check(ascii.reverse == utf8.reverse, "SMTPUTF8 changed a reverse path") }
    if case .success = ascii.mailbox { check(ascii.mailbox == utf8.mailbox, "SMTPUTF8 changed a mailbox") }

    // MAIL and RCPT read the path with SMTPUTF8 allowed; a complete path
    // with nothing after it is the whole command argument.
    if case .success(let path) = utf8.reverse {
        let mail = commandResult(Array("MAIL FROM:".utf8) + input)
        check(mail == .success(.mail(path, MailParameters())), "MAIL FROM disagrees with parseReversePath")
    }
    if case .success(let mailbox) = utf8.forward {
        let rcpt = commandResult(Array("RCPT TO:".utf8) + input)
        check(rcpt == .success(.rcpt(mailbox, RecipientParameters())), "RCPT TO disagrees with parseForwardPath")
    }
    return 0
}

@_cdecl("fuzz_address_main")
func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    runFuzzer(argc, argv, testOneInput)
}

func commandResult(_ line: [UInt8]) -> Result<SMTPCommand, SMTPCommandError> {
    do throws(SMTPCommandError) {
        return .success(try SMTPCommand.parse(line))
    } catch {
        return .failure(error)
    }
}

struct Parsed {
    let input: [UInt8]
    let allowUTF8: Bool
    let forward: Result<MailboxAddress, MailboxAddressError>
    let reverse: Result<ReversePath, MailboxAddressError>
    let mailbox: Result<MailboxAddress, MailboxAddressError>

    init(_ input: [UInt8], allowUTF8: Bool) {
        self.input = input
        self.allowUTF8 = allowUTF8
        forward = Self.forwardPath(input, allowUTF8)
        reverse = Self.reversePath(input, allowUTF8)
        mailbox = Self.bareMailbox(input, allowUTF8)
    }

    static func forwardPath(_ bytes: [UInt8], _ allowUTF8: Bool) -> Result<MailboxAddress, MailboxAddressError> {
        do throws(MailboxAddressError) {
            return .success(try MailboxAddress.parseForwardPath(bytes, allowUTF8: allowUTF8))
        } catch {
            return .failure(error)
        }
    }

    static func reversePath(_ bytes: [UInt8], _ allowUTF8: Bool) -> Result<ReversePath, MailboxAddressError> {
        do throws(MailboxAddressError) {
            return .success(try MailboxAddress.parseReversePath(bytes, allowUTF8: allowUTF8))
        } catch {
            return .failure(error)
        }
    }

    static func bareMailbox(_ bytes: [UInt8], _ allowUTF8: Bool) -> Result<MailboxAddress, MailboxAddressError> {
        do throws(MailboxAddressError) {
            return .success(try MailboxAddress.parseMailbox(bytes, allowUTF8: allowUTF8))
        } catch {
            return .failure(error)
        }
    }

    func verify() {
        let mode = allowUTF8 ? "SMTPUTF8" : "ASCII"
        if case .success(let mailbox) = forward {
            checkMailbox(mailbox)
            // The bare <postmaster> is the only mailbox without a domain,
            // and only as a recipient.
            if mailbox.domain.isEmpty {
                check(
                    ASCII.equalsIgnoringCase(mailbox.localPart.utf8, "POSTMASTER"), "domainless mailbox \(mode)")
                check(reverse != .success(.mailbox(mailbox)), "<postmaster> accepted as a sender")
            } else {
                check(reverse == .success(.mailbox(mailbox)), "forward and reverse paths disagree \(mode)")
                // The address alone (the source route dropped) parses back
                // to itself, as a path and as a bare mailbox.
                let again = Self.forwardPath(Array("<\(mailbox.address)>".utf8), allowUTF8)
                check(again == .success(mailbox), "round trip changed \(escaped(mailbox.address)) \(mode)")
                let bare = Self.bareMailbox(Array(mailbox.address.utf8), allowUTF8)
                check(bare == .success(mailbox), "parseMailbox disagrees on \(escaped(mailbox.address))")
            }
        }
        switch reverse {
        case .success(.null):
            check(input == Array("<>".utf8), "null path from \(escaped(input))")
        case .success(.mailbox(let mailbox)):
            checkMailbox(mailbox)
            check(forward == .success(mailbox), "reverse path not a forward path \(mode)")
        case .failure:
            if case .success(let mailbox) = forward {
                check(mailbox.domain.isEmpty, "forward path refused as a reverse path \(mode)")
            }
        }
        if case .success(let mailbox) = mailbox {
            checkMailbox(mailbox)
            check(!mailbox.domain.isEmpty, "bare mailbox without a domain")
            check(input == Array(mailbox.address.utf8), "bare mailbox is not its input")
        }
    }

    func checkMailbox(_ mailbox: MailboxAddress) {
        checkAddress(mailbox.address, allowUTF8: allowUTF8, context: escaped(input))
        check(allowUTF8 || mailbox.isASCII, "isASCII false without SMTPUTF8")
        check(!mailbox.localPart.isEmpty && mailbox.localPart.utf8.count <= 64, "local part length")
        check(mailbox.domain.utf8.count <= 255, "domain length")
        // Kept as written: each part is a run of the input's own bytes.
        check(firstRange(of: Array(mailbox.localPart.utf8), in: input) != nil, "local part rewritten")
        check(
            mailbox.domain.isEmpty || firstRange(of: Array(mailbox.domain.utf8), in: input) != nil, "domain rewritten")
    }
}
