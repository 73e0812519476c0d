import PosternCore

/// One copy per delivery target, however the target was named. Two RCPTs
/// that resolve to the same mailbox (`bob` and `BOB`, `bob` at another of
/// our domains, a virtual address mapped to `bob`) are one delivery: the
/// first is delivered, each later one is marked `duplicateOf` it and takes
/// its outcome when it has one. Each keeps its own NOTIFY and ORCPT, so a
/// recipient that asked for a DSN still gets its own report. Members an
/// alias or a `.forward` adds are compared with the same key and are not
/// added at all when already present (`RecipientExpansion`).
enum DuplicateRecipients {
    /// What makes two recipients one delivery.
    static func key(_ r: Recipient) -> String {
        if r.isRemote { return "@" + r.address.lowercased() }
        switch r.target {
        // A name and a user resolve the same way after aliases; both reach
        // the user's mailbox through the same .forward.
        case .name, .user: return "u:" + r.localUser
        // `\user` in the user's own .forward is a delivery, not a loop.
        case .mailbox: return "m:" + r.localUser
        case .pipe, .file: return "t:" + r.localUser + "\u{0}" + r.target.text
        }
    }

    /// Marks every recipient whose target an earlier one already has.
    /// Returns the pairs marked (duplicate, primary), for the log.
    @discardableResult
    static func mark(_ envelope: inout Envelope) -> [(duplicate: Int, primary: Int)] {
        var first: [String: Int] = [:]
        var marked: [(Int, Int)] = []
        for i in envelope.recipients.indices where envelope.recipients[i].duplicateOf == nil {
            let k = key(envelope.recipients[i])
            if let primary = first[k] {
                envelope.recipients[i].duplicateOf = primary
                marked.append((i, primary))
            } else {
                first[k] = i
            }
        }
        return marked
    }

    /// Gives every pending duplicate whose primary has a final state that
    /// state and its result text. Returns the indices that changed.
    @discardableResult
    static func settle(_ envelope: inout Envelope) -> [Int] {
        var changed: [Int] = []
        for i in envelope.recipients.indices {
            guard let p = envelope.recipients[i].duplicateOf, envelope.recipients.indices.contains(p),
                envelope.recipients[i].state == .pending, envelope.recipients[p].state != .pending
            else { continue }
            envelope.recipients[i].state = envelope.recipients[p].state
            envelope.recipients[i].lastResult = envelope.recipients[p].lastResult
            changed.append(i)
        }
        return changed
    }

    /// Whether the queue hands this recipient to a delivery process: a
    /// pending one that is not riding on another's delivery.
    static func isDeliverable(_ r: Recipient) -> Bool {
        r.state == .pending && r.duplicateOf == nil
    }
}
