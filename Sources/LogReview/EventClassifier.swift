import Glibc

/// The line texts of each role (grep the Sources for `logger.` and the
/// queue's `QueueLogLine`s), read back. A role is only asked about its
/// own lines: a queue delivery line is a delivery only in the queue's
/// tag, whatever a listener line holds.
enum EventClassifier {
    static func event(_ role: ProcessRole, _ body: Substring, hasQueueID: Bool) -> LogEvent {
        switch role {
        case .listener: return listener(body, hasQueueID: hasQueueID)
        case .queue: return hasQueueID ? queue(body) : .other
        case .relay: return hasQueueID ? relay(body) : .other
        case .master: return master(body)
        case .local: return body.utf8.starts(with: "started delivery worker, ".utf8) ? .workerStarted : .other
        case .submit: return hasQueueID && body.utf8.starts(with: "local submission, ".utf8) ? .submitted : .other
        case .lookup, .localWorker: return .other
        }
    }

    // MARK: listener

    private static func listener(_ body: Substring, hasQueueID: Bool) -> LogEvent {
        var t = body
        if hasQueueID {
            guard t.take("accepted, client=") else { return .other }
            return .accepted(client: String(t.upTo(",")))
        }
        if t.take("connect from ") { return .connect(client: String(t)) }
        if t.take("disconnect from ") { return .disconnect(client: String(t)) }
        if t.take("reject: ") {
            let stage = t.upTo(" ")
            guard t.take(" from ") else { return .other }
            let client = t.upTo(": ")
            guard t.take(": "), let (code, enhanced, text) = reply(t) else { return .other }
            let reason = RejectionReason.classify(stage: stage, code: code, enhanced: enhanced, text: text)
            return .rejected(client: String(client), reason: reason)
        }
        if t.take("refused ") {
            let client = t.upTo(": ")
            guard t.take(": "), let (code, enhanced, text) = reply(t) else { return .other }
            let reason = RejectionReason.classify(stage: "refused", code: code, enhanced: enhanced, text: text)
            return .rejected(client: String(client), reason: reason)
        }
        if t.take("TLS established, client=") {
            _ = t.upTo(": ")
            guard t.take(": ") else { return .other }
            return .tlsIn(version: String(t.upTo(" ")))
        }
        if t.take("authenticated, client=") {
            _ = t.upTo(", mechanism=")
            guard t.take(", mechanism=") else { return .other }
            return .authSucceeded(mechanism: String(t.upTo(",")))
        }
        if t.take("authentication failed, client=") {
            _ = t.upTo(", mechanism=")
            guard t.take(", mechanism=") else { return .other }
            return .authFailed(mechanism: String(t.upTo(":")))
        }
        return .other
    }

    /// `550 5.7.1 text` (the enhanced code may be missing).
    private static func reply(_ text: Substring) -> (Int, Substring, Substring)? {
        var t = text
        guard let code = Int(t.upTo(" ")), (400...599).contains(code), t.take(" ") else { return nil }
        var enhanced: Substring = ""
        if let first = t.utf8.first, first >= 0x32 && first <= 0x35 {
            enhanced = t.upTo(" ")
            _ = t.take(" ")
        } else {
            _ = t.take(" ")
        }
        return (code, enhanced, t)
    }

    // MARK: queue

    private static func queue(_ body: Substring) -> LogEvent {
        var t = body
        if t.take("queued, from=<") {
            let from = t.upTo(">")
            if let about = t.find(", notice=") {
                var n = t[about.upperBound...]
                let kind = n.upTo(" ")
                guard n.take(" about ") else { return .other }
                return .noticeQueued(kind: String(kind), about: String(n.upTo(",")))
            }
            return .queued(from: String(from))
        }
        guard t.take("to=<") else { return .other }
        let address = String(t.upTo(">"))
        guard t.take(">") else { return .other }
        var relay: Substring = ""
        if t.take(", relay=") { relay = t.upTo(",") }
        guard t.take(", status=") else { return .other }
        let word = t.upTo(" ")
        guard t.take(" (") else { return .other }
        let detail = t.hasSuffix(")") ? t.dropLast() : t
        let status: DeliveryStatus
        switch word {
        case "sent": status = .sent
        case "deferred": status = .deferred
        case "bounced", "expired": status = .bounced
        case "expanded": status = .expanded
        default: return .other
        }
        // A recipient riding on another's delivery is not a delivery of its own.
        if relay.isEmpty && status == .sent { return .other }
        return .delivery(
            address: address, status: status, transport: transport(relay: relay, detail: detail),
            reason: String(detail))
    }

    private static func transport(relay: Substring, detail: Substring) -> Transport {
        switch relay {
        case "relay": return .relay
        case "local":
            if detail.utf8.starts(with: "delivered to mailbox".utf8) { return .mbox }
            if detail.utf8.starts(with: "delivered to maildir".utf8) { return .maildir }
            if detail.utf8.starts(with: "delivered to program".utf8) { return .pipe }
            if detail.utf8.starts(with: "delivered to file".utf8) { return .file }
            return .other
        default: return .other
        }
    }

    // MARK: relay

    /// `to=<a>, relay=host[ip]:port, TLSv1.3 with cipher … | no TLS, status=…`
    private static func relay(_ body: Substring) -> LogEvent {
        var t = body
        guard t.take("to=<") else { return .other }
        _ = t.upTo(">, relay=")
        guard t.take(">, relay=") else { return .other }
        _ = t.upTo(", ")
        guard t.take(", ") else { return .other }
        var tls = t.upTo(", status=")
        guard t.take(", status=") else { return .other }
        return .relayed(tlsVersion: tls.utf8.starts(with: "TLS".utf8) ? String(tls.upTo(" ")) : nil)
    }

    // MARK: master

    private static func master(_ body: Substring) -> LogEvent {
        var t = body
        if t.take("started ") {
            guard let role = ProcessRole(rawValue: String(t.upTo(","))), t.take(", pid=") else { return .other }
            return .childStarted(role: role)
        }
        let name = t.upTo(" ")
        guard let role = ProcessRole(rawValue: String(name)), t.take(" ") else { return .other }
        guard t.utf8.starts(with: "died, pid=".utf8) || t.utf8.starts(with: "keeps dying ".utf8) else {
            return .other
        }
        var signal: Int?
        if let s = t.find(", signal=") {
            var rest = t[s.upperBound...]
            signal = Int(rest.upTo(";"))
        }
        return .childDied(role: role, signal: signal)
    }
}

extension Substring {
    /// The first place `needle` occurs, compared byte by byte (the texts
    /// are ASCII where it matters, and this is the hot path).
    func find(_ needle: String) -> Range<Index>? {
        var hay = self
        var pin = needle
        let offset: Int? = hay.withUTF8 { h in
            pin.withUTF8 { n in
                guard let hb = h.baseAddress, let nb = n.baseAddress, let first = n.first, n.count <= h.count else {
                    return nil
                }
                var at = 0
                let last = h.count - n.count
                while at <= last {
                    guard let hit = memchr(hb + at, Int32(first), last - at + 1) else { return nil }
                    at = UnsafeRawPointer(hit) - UnsafeRawPointer(hb)
                    if memcmp(hb + at, nb, n.count) == 0 { return at }
                    at += 1
                }
                return nil
            }
        }
        guard let offset else { return nil }
        let lower = utf8.index(startIndex, offsetBy: offset)
        return lower..<utf8.index(lower, offsetBy: needle.utf8.count)
    }

    /// Drops `prefix` if the text starts with it.
    mutating func take(_ prefix: String) -> Bool {
        guard utf8.starts(with: prefix.utf8) else { return false }
        self = self[utf8.index(startIndex, offsetBy: prefix.utf8.count)...]
        return true
    }

    /// Everything up to `separator` (or the end), which is consumed; the
    /// separator is left.
    mutating func upTo(_ separator: String) -> Substring {
        guard let r = find(separator) else {
            let all = self
            self = self[endIndex...]
            return all
        }
        let part = self[startIndex..<r.lowerBound]
        self = self[r.lowerBound...]
        return part
    }
}
