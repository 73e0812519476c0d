import LocalSubmission
import PosternCore
import PosternIPC

/// The command's questions that queue nothing: whether a recipient would be
/// taken (RCPT in `sendmail -bs`) and how an address resolves
/// (`sendmail -bv`). Unqualified addresses get @MyHostname, as a
/// submission's would.
extension SubmitService {
    func check(_ address: String) -> SMTPReply {
        let qualified = AddressQualification.qualify(address, domain: config.myHostname)
        let asked = BlockingRequest.ask(
            peers.channel(.lookup),
            .checkRecipient(address: qualified, client: ClientContext(address: CommitRequest.localClient)),
            timeout: Double(config.ipcTimeout))
        switch RecipientVerdicts.verdict(asked) {
        case .local, .remote, .discarded: return SMTPReply(code: 250, enhanced: "2.1.5", text: "<\(qualified)> OK")
        case .refused(let reply), .deferred(let reply): return reply
        case nil: return SubmitReplies.temporary("the lookup did not answer")
        }
    }

    /// A 250 with a line per step of the resolution, or the refusal.
    func verify(_ address: String, caller: UInt32) -> SMTPReply {
        // Sendmail's restrictexpand: -bv is for root and TrustedUsers only.
        let config = config
        if config.privacyOptions.contains(.restrictexpand), caller != 0,
            !config.trustedUsers.contains(login(of: caller) ?? "")
        {
            return SMTPReply(code: 550, enhanced: "5.7.1", text: "-bv is restricted to trusted users (restrictexpand)")
        }
        let qualified = AddressQualification.qualify(address, domain: config.myHostname)
        let asked = BlockingRequest.ask(
            peers.channel(.lookup), .explainAddress(address: qualified), timeout: Double(config.ipcTimeout))
        switch asked.map(\.message) {
        case .success(.addressExplanation(let lines)) where !lines.isEmpty:
            return SMTPReply(code: 250, enhanced: "2.1.5", text: lines[0], additionalLines: Array(lines.dropFirst()))
        case .success(.rejected(let reply)):
            return SMTPReply(code: reply.code, enhanced: reply.enhanced, text: "<\(qualified)>: \(reply.text)")
        default:
            return SubmitReplies.temporary("the lookup did not answer")
        }
    }
}
