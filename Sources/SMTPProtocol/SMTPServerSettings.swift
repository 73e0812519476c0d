/// Per-listener limits and policy. Every limit bounds something a client
/// controls, so that no session can make the listener use unbounded memory
/// or time.
public struct SMTPServerSettings: Sendable {
    /// Our name in the EHLO/HELO reply, in Received: and in Message-ID:.
    public var hostname: String
    /// The full text after "220 ", already expanded.
    public var greeting: String
    /// Advertised as SIZE and enforced on the message content as the client
    /// sent it (our own Received: and added headers do not count against
    /// the client).
    public var maxMessageSize: Int
    /// Accepted recipients per message.
    public var maxRecipients: Int
    /// Octets per command line including CRLF (RFC 5321 §4.5.3.1.4). MAIL
    /// and RCPT get `SMTPServerStateMachine.parameterLineAllowance` more, as
    /// the ESMTP extensions they carry allow (RFC 3461 §5, RFC 1870).
    public var maxCommandLineLength: Int
    /// 4xx/5xx replies to the client's own mistakes before 421 and close;
    /// this is what slows down address harvesting and garbage floods.
    public var maxErrors: Int
    /// Received: fields a message may already carry (RFC 5321 §6.3 loop
    /// detection).
    public var maxReceivedHeaders: Int
    /// Unprocessed input held while waiting for an asynchronous answer; a
    /// pipelining client needs little, anything more is abuse. BDAT chunk
    /// bytes sent before the spool file is open count here too, so the I/O
    /// layer should stop reading while `isWaiting`.
    public var maxPendingInput: Int
    /// Sendmail's PrivacyOptions, expanded (no `goaway`).
    public var privacy: Set<PrivacyOption>
    public var bareLineEndings: BareLineEndings
    /// Add `Date:` and `Message-ID:` to a message that lacks them.
    public var addMissingHeaders: Bool
    /// Write the Received: line first. `sendmail -bs` does not: the submit
    /// process adds its own, naming the submitter's uid.
    public var addReceivedHeader = true
    /// The header section is buffered (the added headers go at its end), so
    /// it is bounded: beyond either limit the message gets 552 5.3.4.
    public var maxHeaderSectionSize: Int
    public var maxHeaderLines: Int
    /// RFC 5321 §4.5.3.2.7: waiting for a command, at least 5 minutes.
    public var commandTimeout: Int
    /// RFC 5321 §4.5.3.2.5: between blocks of DATA or BDAT content.
    public var dataTimeout: Int
    /// How the client is connected, for the Received: protocol name
    /// (RFC 3848: ESMTPS, ESMTPA, ESMTPSA; RFC 6531: UTF8SMTP…). Set by the
    /// I/O layer after STARTTLS or AUTH (see
    /// `SMTPServerStateMachine.protocolFlags`).
    public var protocolFlags: (tls: Bool, authenticated: Bool)
    /// A certificate is loaded: STARTTLS is offered (while not under TLS).
    public var startTLSAvailable: Bool
    /// SASL mechanisms the lookup offers; empty: no AUTH.
    public var authMechanisms: [String]
    /// Offer AUTH before TLS; otherwise AUTH is refused with 538 until
    /// STARTTLS (and not even advertised).
    public var authAllowCleartext: Bool
    /// Submission ports (RFC 6409 §4.3): MAIL only after AUTH.
    public var authRequired: Bool
    /// Failed AUTH attempts before 421 and close.
    public var maxAuthFailures: Int
    /// "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)", for
    /// the Received: line; set by the I/O layer with `tlsEstablished`.
    public var tlsDescription: String?
    /// Masquerading of the sender fields of each message's header section
    /// (and, under masquerade_envelope, of MAIL FROM, by the I/O layer);
    /// nil: none.
    public var masquerader: Masquerader?

    public init(
        hostname: String, greeting: String, maxMessageSize: Int = SMTPDefaults.maxMessageSize,
        maxRecipients: Int = SMTPDefaults.maxRecipients, maxCommandLineLength: Int = 512,
        maxErrors: Int = SMTPDefaults.maxErrors, maxReceivedHeaders: Int = SMTPDefaults.maxHopCount,
        maxPendingInput: Int = 65_536, privacy: Set<PrivacyOption> = [], bareLineEndings: BareLineEndings = .reject,
        addMissingHeaders: Bool = true, maxHeaderSectionSize: Int = 1_048_576, maxHeaderLines: Int = 1000,
        commandTimeout: Int = SMTPDefaults.commandTimeout, dataTimeout: Int = SMTPDefaults.dataBlockTimeout,
        protocolFlags: (tls: Bool, authenticated: Bool) = (tls: false, authenticated: false),
        startTLSAvailable: Bool = false, authMechanisms: [String] = [], authAllowCleartext: Bool = false,
        authRequired: Bool = false, maxAuthFailures: Int = SMTPDefaults.maxAuthFailures, tlsDescription: String? = nil,
        masquerader: Masquerader? = nil
    ) {
        self.hostname = hostname
        self.greeting = greeting
        self.maxMessageSize = maxMessageSize
        self.maxRecipients = maxRecipients
        self.maxCommandLineLength = maxCommandLineLength
        self.maxErrors = maxErrors
        self.maxReceivedHeaders = maxReceivedHeaders
        self.maxPendingInput = maxPendingInput
        self.privacy = privacy
        self.bareLineEndings = bareLineEndings
        self.addMissingHeaders = addMissingHeaders
        self.maxHeaderSectionSize = maxHeaderSectionSize
        self.maxHeaderLines = maxHeaderLines
        self.commandTimeout = commandTimeout
        self.dataTimeout = dataTimeout
        self.protocolFlags = protocolFlags
        self.startTLSAvailable = startTLSAvailable
        self.authMechanisms = authMechanisms
        self.authAllowCleartext = authAllowCleartext
        self.authRequired = authRequired
        self.maxAuthFailures = maxAuthFailures
        self.tlsDescription = tlsDescription
        self.masquerader = masquerader
    }
}
