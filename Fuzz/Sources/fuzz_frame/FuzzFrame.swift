/// The IPC frame decoder (`FrameCodec.decode`), the one parser every
/// process runs on what its peers send. A frame that decodes must be the
/// exact encoding of what it decoded to: nothing ignored, nothing repaired.
/// The input is one datagram; it is decoded as if it came with 0, 1 and 2
/// descriptors (exactly one count can be right for its type), and again
/// with its length field set to its real length, so that the fuzzer need
/// not find that number to reach the payload decoders.
import FuzzSupport
import PosternCore

@testable import PosternIPC

@_cdecl("LLVMFuzzerTestOneInput")
func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let input = fuzzBytes(data, size)
    checkFrame(input)
    if input.count >= FrameHeader.size {
        var repaired = input
        let length = UInt32(truncatingIfNeeded: input.count)
        for index in 0..<4 { repaired[index] = UInt8(truncatingIfNeeded: length >> (24 - 8 * UInt32(index))) }
        if repaired != input { checkFrame(repaired) }
    }
    return 0
}

func checkFrame(_ input: [UInt8]) {
    var decodedWith: [Int] = []
    for descriptors in 0...2 {
        do throws(IPCDecodeError) {
            let frame = try FrameCodec.decode(input, descriptorCount: descriptors)
            decodedWith.append(descriptors)
            trace("decoded with \(descriptors) descriptors: \(frame.message)")
            check(frame.message.kind.descriptorCount == descriptors, "decoded with the wrong descriptor count")
            let again = FrameCodec.encode(frame.message, requestID: frame.requestID, isResponse: frame.isResponse)
            check(again == input, "re-encoding differs: \(escaped(input)) vs \(escaped(again))")
            checkFields(frame.message)
        } catch {
            trace("\(descriptors) descriptors: \(error)")
            check(isTextString("\(error)"), "error text not printable: \(escaped("\(error)"))")
        }
    }
    check(decodedWith.count <= 1, "decoded with several descriptor counts: \(decodedWith)")
}

@_cdecl("fuzz_frame_main")
func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    runFuzzer(argc, argv, testOneInput)
}

/// Strings from a peer never carry CR, LF or NUL (configuration text may
/// carry line breaks, never NUL).
func checkFields(_ message: IPCMessage) {
    func field(_ text: String) { check(hasNoLineBreakOrNUL(text), "CR/LF/NUL in a field: \(escaped(text))") }
    switch message {
    case .configure(let text), .reload(let text):
        check(!text.utf8.contains(0), "NUL in configuration text")
    case .listenSocket(let address): field(address)
    case .peerViolation(_, let reason): field(reason)
    case .checkClient(let client): [client.address, client.hostname, client.authenticatedUser].forEach(field)
    case .checkSender(let address, let client), .checkRecipient(let address, let client):
        field(address)
        [client.address, client.hostname, client.authenticatedUser].forEach(field)
    case .clientVerdict(let verdict):
        check((200...599).contains(verdict.status.code), "reply code \(verdict.status.code)")
        [verdict.status.enhanced, verdict.status.text, verdict.hostname].forEach(field)
    case .rejected(let status):
        check((200...599).contains(status.code), "reply code \(status.code)")
        [status.enhanced, status.text].forEach(field)
    case .recipientAccepted(let user): field(user)
    case .recipientRemote(let address, let domain):
        field(address)
        field(domain)
    case .commitMessage(let request):
        check(request.recipients.count <= IPCLimits.maxRecipients, "too many recipients")
        [request.sender, request.clientAddress, request.clientHelo, request.authUser, request.envelopeID].forEach(field)
        for recipient in request.recipients {
            [recipient.address, recipient.localUser, recipient.originalRecipient, recipient.lastResult].forEach(field)
            check(recipient.state != .delivered, "a recipient committed as delivered")
        }
    case .deliver(let job):
        [job.sender, job.envelopeID].forEach(field)
        for recipient in job.recipients {
            [recipient.address, recipient.localUser, recipient.target.text, recipient.originalRecipient].forEach(field)
        }
    case .deliveryResult(_, let outcomes):
        for outcome in outcomes {
            field(outcome.text)
            check(outcome.expansion.isEmpty || outcome.status == .expanded, "expansion on a non-expanded outcome")
            for member in outcome.expansion { [member.address, member.localUser, member.target.text].forEach(field) }
        }
    case .assignWorker(let identity):
        check(identity.groups.count <= IPCLimits.maxGroups, "too many groups")
        [identity.user, identity.home, identity.mailDirectory, identity.homeMailbox, identity.smrshDirectory, identity.jail,
            identity.hostname]
            .forEach(field)
    case .mechanisms(let names):
        check(names.count <= IPCLimits.maxMechanisms, "too many mechanisms")
        for name in names { check(SASLMechanismName.isValid(name), "mechanism name \(escaped(name))") }
    case .authStart(let start):
        check(SASLMechanismName.isValid(start.mechanism), "mechanism name \(escaped(start.mechanism))")
        check((start.initialResponse?.count ?? 0) <= IPCLimits.maxSASLData, "initial response too long")
        [start.client.address, start.client.hostname, start.client.authenticatedUser].forEach(field)
    case .authStep(_, let data), .authChallenge(let data):
        check(data.count <= IPCLimits.maxSASLData, "SASL data too long")
    case .authSucceeded(let user): field(user)
    case .routeRequest(let domain): field(domain)
    case .route(let answer):
        field(answer.text)
        check(answer.hosts.count <= IPCLimits.maxRouteHosts, "too many hosts")
        for host in answer.hosts {
            field(host.name)
            host.addresses.forEach(field)
        }
    case .explainAddress(let address): field(address)
    case .addressExplanation(let lines):
        check(lines.count <= IPCLimits.maxExplanationLines, "too many explanation lines")
        lines.forEach(field)
    case .attachPeer, .ready, .userDatabase, .shutdown, .accepted, .discarded, .openMessage, .messageOpened,
        .committed, .abortMessage, .authMechanisms, .authAbort, .ping, .pong, .spoolSpace, .controlSocket,
        .submitSocket, .reopenLog:
        break
    }
}
