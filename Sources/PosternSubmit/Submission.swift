import LocalSubmission
import PosternCore
import SMTPProtocol

/// Who submitted a message: the uid SO_PEERCRED or the drop file's owner
/// gave, and its account.
struct Submitter: Equatable, Sendable {
    var uid: UInt32
    var login: String
    /// From GECOS; nil when it has none.
    var fullName: String?
    /// root and TrustedUsers may set the envelope sender without a warning.
    var trusted: Bool
}

/// A drop file made ready for the queue: the envelope and the message as
/// it is stored, but for the Received: line, which names the queue id.
struct Submission: Equatable, Sendable {
    var submitter: Submitter
    var sender: String
    /// Qualified, in the order given, for the lookup to judge.
    var recipients: [String]
    var notify: DSNNotify
    var ret: DSNReturn?
    var envelopeID: String?
    var bodyType: MessageBodyType?
    var logTag: String?
    /// The message's Message-ID (its own, or the one added), for the log.
    var messageID: String?
    /// The header section (with what was added) and the body, CR LF.
    var message: [UInt8]

    /// Postfix's form, which names the uid (RFC 5321's `from` clause is
    /// for a network peer, which a local submission has not).
    func receivedLine(queueID: String, host: String, date: String) -> [UInt8] {
        Array(
            "Received: by \(host) (Postern, from userid \(submitter.uid))\r\n\tid \(queueID); \(date)\r\n".utf8)
    }
}

/// Builds a `Submission` from a drop file: the sender (the login, or -f),
/// the recipients (the arguments, or the header's under -t), Bcc removed,
/// From/Date/Message-ID added when missing, the X-Authentication-Warning
/// for an untrusted -f, masquerading as for SMTP, the hop count. Pure:
/// the clock and the random token are inputs.
struct SubmissionBuilder {
    let config: PosternConfig
    var now: Int64
    var utcOffset: Int
    var random: [UInt8]
    var masquerader: Masquerader?

    func build(_ drop: DropEnvelope, message: [UInt8], submitter: Submitter) -> Result<Submission, SMTPReply> {
        let host = config.myHostname
        let own = submitter.login + "@" + host
        let sender: String
        var warnings: [[UInt8]] = []
        switch drop.sender {
        case nil: sender = own
        case let given?:
            sender = given.isEmpty || given == "<>" ? "" : AddressQualification.qualify(given, domain: host)
            if !submitter.trusted, sender != own {
                warnings.append(
                    Array(
                        "X-Authentication-Warning: \(host): \(submitter.login) set sender to \(sender.isEmpty ? "<>" : sender) using -f\r\n"
                            .utf8))
            }
        }
        guard sender.utf8.count <= EnvelopeField.maxAddressLength,
            (try? EnvelopeField.validate(sender, field: "sender", limit: EnvelopeField.maxAddressLength)) != nil
        else {
            return .failure(SMTPReply(code: 553, enhanced: "5.1.7", text: "Bad sender address"))
        }
        let header = HeaderSection(parsing: message)
        var body = Array(message[header.length...])
        if body.starts(with: [0x0D, 0x0A]) { body.removeFirst(2) }
        var recipients = drop.recipients.map { AddressQualification.qualify($0, domain: host) }
        if drop.extractRecipients {
            // Sendmail's -t: the header's recipients, less those named as
            // arguments (Postfix would add them instead).
            let suppressed = Set(recipients.map { $0.lowercased() })
            do {
                recipients = try RecipientExtraction.recipients(in: header)
                    .map { AddressQualification.qualify($0, domain: host) }
                    .filter { !suppressed.contains($0.lowercased()) }
            } catch {
                return .failure(SMTPReply(code: 554, enhanced: "5.6.0", text: "\(error)"))
            }
            guard !recipients.isEmpty else {
                return .failure(SMTPReply(code: 554, enhanced: "5.5.1", text: "No recipient addresses found in header"))
            }
        }
        guard recipients.count <= config.maxRecipientsPerMessage else {
            // Permanent for a submission: the same file would fail again.
            return .failure(SMTPReply(code: 550, enhanced: "5.5.3", text: "Too many recipients"))
        }
        let hops = header.fields(named: "Received").count + (drop.hopCount ?? 0)
        guard hops < config.maxHopCount else {
            return .failure(SMTPReply(code: 554, enhanced: "5.4.6", text: "Too many hops (\(hops))"))
        }
        var added: [[UInt8]] = []
        var messageID = header.fields(named: "Message-ID").first.flatMap { Self.loggable($0.unfoldedValue) }
        for field in header.missingOriginatorFields {
            switch field {
            case .from:
                added.append(
                    OriginatorFields.from(
                        fullName: drop.fullName ?? submitter.fullName, address: sender.isEmpty ? own : sender))
            case .date: added.append(OriginatorFields.date(secondsSince1970: now, utcOffsetSeconds: utcOffset))
            case .messageID:
                let line = OriginatorFields.messageID(random: random, secondsSince1970: now, host: host)
                added.append(line)
                messageID = Self.loggable(line.dropFirst("Message-ID:".utf8.count))
            }
        }
        var section = header.removingBlindCopies.assembled(adding: added)
        if let masquerader, masquerader.isActive { section = masquerader.rewriteHeaderSection(section) }
        let envelopeSender = masquerader.map { $0.rewrite(envelopeSender: sender) } ?? sender
        return .success(
            Submission(
                submitter: submitter, sender: envelopeSender, recipients: recipients, notify: drop.notify ?? [],
                ret: drop.ret, envelopeID: drop.envelopeID, bodyType: drop.bodyType, logTag: drop.logTag,
                messageID: messageID,
                message: warnings.joined() + section + body))
    }

    /// Printable ASCII without blanks (at most 250 octets), trimmed: what
    /// may go into a log line as one word.
    static func loggable(_ value: some Collection<UInt8>) -> String? {
        let trimmed = value.drop { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D || $0 == 0x0A }.reversed()
            .drop { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D || $0 == 0x0A }.reversed()
        guard !trimmed.isEmpty, trimmed.count <= 250, trimmed.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            return nil
        }
        return String(decoding: trimmed, as: UTF8.self)
    }
}
