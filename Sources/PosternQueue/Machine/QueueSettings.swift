import PosternCore

/// What the queue's decisions read from the configuration, taken out of
/// `PosternConfig` once at start and at each reload, so that the machine
/// (and its tests) need only these few values and not the whole file.
struct QueueSettings: Equatable {
    /// MyHostname: the notices' `Reporting-MTA:`, `From:` and HELO.
    var hostname: String
    /// `Timeout.queuereturn`, seconds: pending recipients fail after it.
    var queueReturn: Int
    /// `Timeout.queuewarn`, seconds; 0 sends no delay warning.
    var queueWarn: Int
    /// `QueueRetryMinimum` and `QueueRetryMaximum`, seconds.
    var retryMinimum: Int
    var retryMaximum: Int
    /// `QueueMinFree`, bytes: below it no spool file is opened.
    var minFree: UInt64
    /// PrivacyOptions `restrictmailq` and `restrictqrun`, for the public
    /// control socket.
    var restrictMailq: Bool
    var restrictQrun: Bool
    /// PrivacyOptions that shape notices.
    var dsnPrivacy: DSNPrivacy

    init(
        hostname: String, queueReturn: Int = 5 * 86_400, queueWarn: Int = 4 * 3_600, retryMinimum: Int = 300,
        retryMaximum: Int = 3_600, minFree: UInt64 = 0, restrictMailq: Bool = false, restrictQrun: Bool = false,
        dsnPrivacy: DSNPrivacy = DSNPrivacy()
    ) {
        self.hostname = hostname
        self.queueReturn = queueReturn
        self.queueWarn = queueWarn
        self.retryMinimum = retryMinimum
        self.retryMaximum = retryMaximum
        self.minFree = minFree
        self.restrictMailq = restrictMailq
        self.restrictQrun = restrictQrun
        self.dsnPrivacy = dsnPrivacy
    }

    init(_ config: PosternConfig) {
        let privacy = config.privacyOptions
        self.init(
            hostname: config.myHostname, queueReturn: config.queueReturn, queueWarn: config.queueWarn,
            retryMinimum: config.queueRetryMinimum, retryMaximum: config.queueRetryMaximum,
            minFree: UInt64(max(config.queueMinFree, 0)), restrictMailq: privacy.contains(.restrictmailq),
            restrictQrun: privacy.contains(.restrictqrun),
            dsnPrivacy: DSNPrivacy(
                noReceipts: privacy.contains(.noreceipts), noBodyReturn: privacy.contains(.nobodyreturn),
                noActualRecipient: privacy.contains(.noactualrecipient)))
    }
}

/// The queue's fixed bounds. Values, not constants, so that a test can
/// reach a cap with three messages instead of two hundred.
struct QueueLimits: Equatable {
    /// Spool files handed out and not yet committed or aborted.
    var maxUploads = 1000
    /// Messages being delivered at once.
    var maxInFlight = 200
    /// Deliveries one transport (local, relay) may have under way, so a
    /// slow relay cannot starve local delivery.
    var maxPerTransport = 150
}
