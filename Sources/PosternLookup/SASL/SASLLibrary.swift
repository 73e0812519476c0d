import CSASL
import CSASLShims
import Glibc
import Logging
import NIOConcurrencyHelpers
import PosternIPC

/// The process-wide Cyrus SASL server library. `sasl_server_init` may run
/// once per process and must run before the lookup's chroot: it dlopens the
/// mechanism and auxprop plugins from /usr/lib/x86_64-linux-gnu/sasl2, which
/// is not inside the lookup's root. Its options come from a SASL_CB_GETOPT
/// callback answered from `SASLSettings` (no /etc/sasl2 file is read), and
/// its log messages go to the process's logger through SASL_CB_LOG.
///
/// Cyrus keeps the callback list and the option strings it is handed, so
/// both are allocated once and never freed.
final class SASLLibrary: @unchecked Sendable {
    static let shared = SASLLibrary()

    private let lock = NIOLock()
    private var settings: SASLSettings?
    private var logger = Logger(label: "postern.sasl")
    private var started = false
    /// Every option value ever handed to Cyrus, kept alive for good: Cyrus
    /// may hold the pointer past the callback. Bounded by the few values a
    /// configuration can produce.
    private var interned: [String: UnsafeMutablePointer<CChar>] = [:]

    private init() {}

    /// Initializes Cyrus once; later calls only replace the settings (the
    /// GETOPT callback reads them on every call, so the password check,
    /// sasldb path and saslauthd path follow a reload; the mechanism list
    /// and host name are read by Cyrus at init and at `sasl_server_new`).
    func start(settings: SASLSettings, logger: Logger) throws(SASLError) {
        let needsInit = lock.withLock {
            self.settings = settings
            self.logger = logger
            defer { started = true }
            return !started
        }
        guard needsInit else { return }
        let code = sasl_server_init(Self.callbacks, "postern")
        guard code == SASL_OK else {
            lock.withLock { started = false }
            throw .initialization(code: code, detail: String(cString: sasl_errstring(code, nil, nil)))
        }
        // Before any connection exists: see CSASLShims/sasl_seeding.c.
        // A mechanism left unwrapped keeps Cyrus's seeding; whether that
        // withdraws it, and how loudly, SASLAuthenticator decides for the
        // configured mechanisms (`isSeeded`).
        let unwrapped = postern_sasl_seed_nonces()
        if unwrapped > 0 {
            logger.info("\(unwrapped) SASL mechanisms keep Cyrus's own nonce seeding (not wrapped for getrandom)")
        } else if unwrapped < 0 {
            logger.info("cannot list the SASL mechanisms to seed their nonces from getrandom (code \(unwrapped))")
        }
    }

    /// Whether `mechanism`'s nonces come from getrandom (its mech_new is
    /// wrapped, see CSASLShims/sasl_seeding.c) rather than from Cyrus's own seeding.
    func isSeeded(_ mechanism: String) -> Bool {
        postern_sasl_is_seeded(mechanism) != 0
    }

    func update(settings: SASLSettings) {
        lock.withLock { self.settings = settings }
    }

    var currentSettings: SASLSettings? { lock.withLock { settings } }

    /// The option's value as a C string that outlives the call, or nil.
    fileprivate func option(_ name: String) -> UnsafePointer<CChar>? {
        lock.withLock {
            guard let value = settings?.option(name) else { return nil }
            if let existing = interned[value] { return UnsafePointer(existing) }
            guard let copy = strdup(value) else { return nil }
            interned[value] = copy
            return UnsafePointer(copy)
        }
    }

    fileprivate func log(level: Int32, message: String) {
        let text = SASLLogText.escaped(message)
        let logger = lock.withLock { self.logger }
        switch level {
        case SASL_LOG_ERR: logger.error("sasl: \(text)")
        case SASL_LOG_FAIL, SASL_LOG_WARN: logger.info("sasl: \(text)")
        default: logger.debug("sasl: \(text)")
        }
    }

    /// The global callback list: GETOPT, LOG and GETCONFPATH, then the end
    /// marker. Allocated once; Cyrus keeps the pointer for the life of the
    /// process.
    /// Written once, before any thread, and from then on only read by Cyrus.
    private nonisolated(unsafe) static let callbacks: UnsafeMutablePointer<sasl_callback_t> = {
        let list = UnsafeMutablePointer<sasl_callback_t>.allocate(capacity: 4)
        list[0] = sasl_callback_t(
            id: UInt(SASL_CB_GETOPT), proc: unsafeBitCast(getoptCallback, to: (@convention(c) () -> Int32).self),
            context: nil)
        list[1] = sasl_callback_t(
            id: UInt(SASL_CB_LOG), proc: unsafeBitCast(logCallback, to: (@convention(c) () -> Int32).self),
            context: nil)
        list[2] = sasl_callback_t(
            id: UInt(SASL_CB_GETCONFPATH),
            proc: unsafeBitCast(configPathCallback, to: (@convention(c) () -> Int32).self), context: nil)
        list[3] = sasl_callback_t(id: UInt(SASL_CB_LIST_END), proc: nil, context: nil)
        return list
    }()
}

/// SASL_CB_GETOPT: `option` is looked up in the current settings; an
/// option we do not set gets SASL_FAIL, which makes Cyrus use its default.
private let getoptCallback:
    @convention(c) (
        UnsafeMutableRawPointer?, UnsafePointer<CChar>?, UnsafePointer<CChar>?,
        UnsafeMutablePointer<UnsafePointer<CChar>?>?, UnsafeMutablePointer<UInt32>?
    ) -> Int32 = { _, _, option, result, length in
        guard let option, let result, let value = SASLLibrary.shared.option(String(cString: option)) else {
            return SASL_FAIL
        }
        result.pointee = value
        length?.pointee = UInt32(strlen(value))
        return SASL_OK
    }

/// SASL_CB_LOG: Cyrus's messages, escaped, into the role's logger.
private let logCallback: @convention(c) (UnsafeMutableRawPointer?, Int32, UnsafePointer<CChar>?) -> Int32 = {
    _, level, message in
    guard let message else { return SASL_OK }
    SASLLibrary.shared.log(level: level, message: String(cString: message))
    return SASL_OK
}

/// SASL_CB_GETCONFPATH: Cyrus would otherwise read /etc/sasl2/postern.conf
/// (options that override nothing we set, but that an administrator did
/// not write for Postern). /dev/null is no directory, so the file it looks
/// for, /dev/null/postern.conf, can never exist.
/// Never written after it is made; Cyrus only reads it.
private nonisolated(unsafe) let configPath: UnsafeMutablePointer<CChar>? = strdup("/dev/null")

private let configPathCallback:
    @convention(c) (UnsafeMutableRawPointer?, UnsafeMutablePointer<UnsafePointer<CChar>?>?) ->
        Int32 = { _, path in
            guard let path, let configPath else { return SASL_FAIL }
            path.pointee = UnsafePointer(configPath)
            return SASL_OK
        }
