import Glibc
import Logging
import PosternAliases
import PosternCore
import PosternIPC
import PosternPrivilege

/// The aliases as local delivery expands them: the table from
/// ConfigDirectory/aliases, re-read on reload, and the `:include:` files,
/// read when an alias needs them. This process reads them with
/// DAC_READ_SEARCH, so it checks what Sendmail checks before trusting a
/// file: a regular file, not a symlink, not writable by group or others.
final class LocalAliases: @unchecked Sendable {
    /// An include file is a list of addresses; a megabyte is thousands.
    static let maxIncludeSize = 1 << 20

    private let lock = Lock()
    private var table = AliasTable()
    private var config: PosternConfig
    private let logger: Logger

    init(config: PosternConfig, logger: Logger) {
        self.config = config
        self.logger = logger
        update(config: config)
    }

    func update(config: PosternConfig) {
        let path = config.configDirectory + "/aliases"
        var loaded = AliasTable()
        switch Self.readSafely(path, limit: 16 << 20) {
        case .success(let text):
            let (parsed, problems) = AliasesFile.parse(text: text, file: path)
            for problem in problems { logger.warning("\(problem)") }
            loaded = parsed
        case .failure(let failure):
            if failure.errno != ENOENT { logger.error("aliases not loaded: \(failure.reason)") }
        }
        lock.withLock {
            self.config = config
            table = loaded
        }
        logger.info("aliases loaded, entries=\(loaded.count)")
    }

    /// Whether `name` is an alias now (it may have left the table since
    /// RCPT; it is then a user or unknown).
    func isAlias(_ name: String) -> Bool {
        lock.withLock { table.entry(named: name) != nil }
    }

    /// Expands `name` into the outcome for its recipient.
    func expand(_ name: String, recipient: DeliveryRecipient) -> RecipientOutcome {
        let (table, config) = lock.withLock { (self.table, self.config) }
        var owners: [String: String] = [:]
        let expansion = AliasExpander.expand(
            name, table: table,
            include: { path -> Result<String, IncludeFailure> in
                let result = Self.readInclude(path)
                if case .success(let (_, owner)) = result, let owner { owners[path] = owner }
                return result.map(\.0)
            },
            isLocalUser: { (try? SystemAccount.lookup($0)) != nil },
            isLocalDomain: { config.isLocalDomain($0) })
        for problem in expansion.problems { logger.warning("\(problem)") }
        for failure in expansion.includeFailures {
            logger.error("alias \(failure.alias ?? name): cannot use :include:\(failure.path): \(failure.reason)")
        }
        switch expansion.outcome {
        case .failure(let error):
            let status: RecipientOutcome.Status = error.isTemporary ? .deferred : .failed
            let code = error.isTemporary ? "4.3.0" : "5.4.6"
            logger.error("alias \(name): \(error)")
            return RecipientOutcome(index: recipient.index, status: status, text: "\(code) \(error)")
        case .success(let deliveries):
            let context = AliasMembers.Context(
                address: recipient.address, hostname: config.primaryDomain, defaultUser: config.addressing.defaultUser,
                includeOwners: owners)
            let (members, unknown) = AliasMembers.members(deliveries, context: context)
            if !unknown.isEmpty {
                logger.warning("alias \(name): unknown names skipped: \(unknown.joined(separator: ", "))")
            }
            guard !members.isEmpty else {
                return RecipientOutcome(
                    index: recipient.index, status: .failed, text: "5.1.1 alias \(name): no such user")
            }
            return RecipientOutcome(
                index: recipient.index, status: .expanded, text: "alias \(name), \(members.count) recipients",
                expansion: members)
        }
    }

    struct IncludeFailure: Error, CustomStringConvertible {
        var errno: Int32
        var reason: String
        var description: String { reason }
    }

    /// An include file's text and, when a user (not root) owns it, that
    /// user's name: its pipes and files run as that user.
    private static func readInclude(_ path: String) -> Result<(String, String?), IncludeFailure> {
        var owner: uid_t = 0
        let text = readSafely(path, limit: maxIncludeSize) { owner = $0.st_uid }
        return text.flatMap { text in
            guard owner != 0 else { return .success((text, nil)) }
            guard let pw = getpwuid(owner) else {
                return .failure(IncludeFailure(errno: 0, reason: "owned by uid \(owner), who is no user"))
            }
            return .success((text, String(cString: pw.pointee.pw_name)))
        }
    }

    /// A map file's text: opened without following a symlink, refused if it
    /// is no regular file or others may write it.
    private static func readSafely(_ path: String, limit: Int, inspect: (stat) -> Void = { _ in }) -> Result<
        String, IncludeFailure
    > {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else {
            let e = errno
            return .failure(IncludeFailure(errno: e, reason: "\(path): \(String(cString: strerror(e)))"))
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
            return .failure(IncludeFailure(errno: 0, reason: "\(path) is not a regular file"))
        }
        guard st.st_mode & 0o022 == 0 else {
            return .failure(IncludeFailure(errno: 0, reason: "\(path) is writable by group or others: unsafe"))
        }
        guard st.st_size <= limit else {
            return .failure(IncludeFailure(errno: 0, reason: "\(path) is larger than \(limit) bytes"))
        }
        inspect(st)
        var bytes = [UInt8](repeating: 0, count: Int(st.st_size) + 1)
        var total = 0
        while total < bytes.count {
            let n = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress.map { $0 + total }, $0.count - total) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            total += n
        }
        guard total <= limit else {
            return .failure(IncludeFailure(errno: 0, reason: "\(path) grew while being read"))
        }
        return .success(String(decoding: bytes.prefix(total), as: UTF8.self))
    }
}
