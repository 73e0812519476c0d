import Glibc
import Logging
import NIOConcurrencyHelpers
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

    private let lock = NIOLock()
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
        switch MapFileReader.read(path, limit: 16 << 20, refuseWritableByOthers: true) {
        case .success(let contents):
            let (parsed, problems) = AliasesFile.parse(text: contents.text, file: path)
            for problem in problems { logger.warning("\(problem)") }
            loaded = parsed
        case .failure(let failure):
            if failure.errno != ENOENT { logger.error("aliases not loaded: \(failure)") }
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
            include: { path -> Result<String, MapFileReader.Failure> in
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

    /// An include file's text and, when a user (not root) owns it, that
    /// user's name: its pipes and files run as that user.
    private static func readInclude(_ path: String) -> Result<(String, String?), MapFileReader.Failure> {
        MapFileReader.read(path, limit: maxIncludeSize, refuseWritableByOthers: true).flatMap { contents in
            let owner = contents.status.st_uid
            guard owner != 0 else { return .success((contents.text, nil)) }
            guard let pw = getpwuid(owner) else {
                return .failure(
                    MapFileReader.Failure(errno: 0, description: "\(path) is owned by uid \(owner), who is no user"))
            }
            return .success((contents.text, String(cString: pw.pointee.pw_name)))
        }
    }
}
