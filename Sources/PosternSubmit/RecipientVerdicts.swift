import PosternCore
import PosternIPC

/// What the lookup said about each recipient of a local submission, in
/// the order given, and what follows for the message.
struct RecipientVerdicts: Equatable {
    enum Verdict: Equatable {
        case local(user: String)
        case remote(address: String)
        case discarded
        case refused(SMTPReply)
        /// The lookup's 4xx (a tempfail in a map): the message waits.
        case deferred(SMTPReply)
    }

    var verdicts: [(address: String, verdict: Verdict)] = []

    static func == (a: Self, b: Self) -> Bool {
        a.verdicts.map(\.address) == b.verdicts.map(\.address) && a.verdicts.map(\.verdict) == b.verdicts.map(\.verdict)
    }

    /// The lookup's answer to one `checkRecipient`; nil when it did not
    /// answer (a temporary failure for the whole message).
    static func verdict(_ result: Result<Frame, IPCError>) -> Verdict? {
        switch result.map(\.message) {
        case .success(.recipientAccepted(let user)): return .local(user: user)
        case .success(.recipientRemote(let address, _)): return .remote(address: address)
        case .success(.discarded): return .discarded
        case .success(.rejected(let reply)) where reply.code >= 500: return .refused(reply)
        case .success(.rejected(let reply)): return .deferred(reply)
        default: return nil
        }
    }

    /// The recipients the message is committed with.
    var accepted: [Recipient] {
        verdicts.compactMap { entry in
            switch entry.verdict {
            case .local(let user): return Recipient(address: entry.address, localUser: user)
            case .remote(let address): return Recipient(address: address, localUser: "")
            case .discarded, .refused, .deferred: return nil
            }
        }
    }

    var refused: [(address: String, reply: SMTPReply)] {
        verdicts.compactMap { entry in
            if case .refused(let reply) = entry.verdict { return (entry.address, reply) }
            return nil
        }
    }

    var deferred: [(address: String, reply: SMTPReply)] {
        verdicts.compactMap { entry in
            if case .deferred(let reply) = entry.verdict { return (entry.address, reply) }
            return nil
        }
    }

    var allDiscarded: Bool { !verdicts.isEmpty && verdicts.allSatisfy { $0.verdict == .discarded } }
}
