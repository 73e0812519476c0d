/// STARTTLS (RFC 3207) and AUTH (RFC 4954). The machine decides what the
/// client may do and when; the TLS handshake and the password check are
/// the I/O layer's and the lookup's, reported back by `tlsEstablished` and
/// `authenticationStep`.
extension SMTPServerStateMachine {
    /// The user the session authenticated as; nil before AUTH succeeds.
    public var authenticatedUser: String? { authentication.user }

    /// Failed AUTH attempts so far; the I/O layer slows its answers by it.
    public var authenticationFailures: Int { authentication.failures }

    /// Whether AUTH may be used now: there are mechanisms, and either TLS
    /// protects the session or the configuration allows cleartext.
    var authOffered: Bool {
        !settings.authMechanisms.isEmpty && (settings.protocolFlags.tls || settings.authAllowCleartext)
    }

    var securityKeywords: [String] {
        var keywords: [String] = []
        if settings.startTLSAvailable && !settings.protocolFlags.tls { keywords.append("STARTTLS") }
        if authOffered { keywords.append("AUTH " + settings.authMechanisms.joined(separator: " ")) }
        return keywords
    }

    mutating func startTLS(_ actions: inout [SMTPServerAction]) {
        guard settings.startTLSAvailable else { return reply(.tlsNotAvailable, &actions) }
        guard !settings.protocolFlags.tls else { return reply(.tlsAlreadyActive, &actions) }
        guard transaction == nil else { return reply(.transactionInProgress, &actions) }
        actions.append(.reply(.readyToStartTLS))
        actions.append(.startTLS)
        phase = .awaitingTLS
    }

    /// The bytes after STARTTLS, in the buffer and half-read in the framer.
    mutating func discardCleartextInput() {
        input = []
        framer = LineFramer(maxLineLength: settings.maxCommandLineLength + Self.parameterLineAllowance)
    }

    /// The handshake is done: the session starts again (RFC 3207 §4.2: the
    /// client must EHLO again, and knowledge from before TLS is dropped).
    public mutating func tlsEstablished(description: String) -> [SMTPServerAction] {
        guard phase == .awaitingTLS else { return [] }
        phase = .command
        greeting = nil
        transaction = nil
        settings.protocolFlags.tls = true
        settings.tlsDescription = description
        discardCleartextInput()
        return []
    }

    mutating func auth(mechanism: String, initialResponse: [UInt8]?, _ actions: inout [SMTPServerAction]) {
        guard !settings.authMechanisms.isEmpty else { return reply(.authNotEnabled, &actions) }
        guard authOffered else { return reply(.encryptionRequired, &actions) }
        guard greeting?.esmtp == true else { return reply(.needHelo, &actions) }
        guard authentication.user == nil else { return reply(.alreadyAuthenticated, &actions) }
        guard transaction == nil else { return reply(.transactionInProgress, &actions) }
        guard settings.authMechanisms.contains(mechanism) else { return reply(.unknownMechanism, &actions) }
        actions.append(.authStart(mechanism: mechanism, initialResponse: initialResponse))
        phase = .awaitingAuthStep
    }

    /// One line in answer to a 334: "*" cancels (RFC 4954 §4), anything
    /// else must be base64.
    mutating func handleAuthResponse(_ line: Result<[UInt8], LineFramerError>, _ actions: inout [SMTPServerAction]) {
        phase = .command
        guard case .success(let bytes) = line else {
            actions.append(.authAbort)
            return reply(.cannotDecodeAuth, &actions)
        }
        if bytes == [UInt8(ascii: "*")] {
            actions.append(.authAbort)
            return reply(.authAborted, &actions)
        }
        guard let decoded = Base64.decode(bytes) else {
            actions.append(.authAbort)
            return reply(.cannotDecodeAuth, &actions)
        }
        actions.append(.authContinue(decoded))
        phase = .awaitingAuthStep
    }

    /// The lookup's answer to `authStart` or `authContinue`.
    public mutating func authenticationStep(_ step: AuthenticationStep) -> [SMTPServerAction] {
        guard phase == .awaitingAuthStep else { return [] }
        phase = .command
        var actions: [SMTPServerAction] = []
        switch step {
        case .challenge(let bytes):
            actions.append(.reply(.challenge(bytes)))
            phase = .readingAuthResponse
        case .success(let user):
            authentication.user = user
            settings.protocolFlags.authenticated = true
            actions.append(.reply(.authSucceeded))
        case .failure(let failure):
            authentication.failures += 1
            if authentication.failures >= settings.maxAuthFailures {
                actions.append(.reply(failure))
                shutDown(.tooManyAuthFailures(settings.hostname), &actions)
                return actions
            }
            reply(failure, &actions)
        }
        processInput(&actions)
        return actions
    }
}

/// What AUTH has established in this session.
struct AuthenticationState: Equatable, Sendable {
    var user: String?
    var failures = 0
}
