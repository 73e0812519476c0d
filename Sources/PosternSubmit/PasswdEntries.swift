import LocalSubmission
import PosternCore

/// The accounts of /etc/passwd by uid: the login a submitter's uid names
/// and its GECOS field (the From: line's full name). The file arrives as a
/// descriptor from the master at each start and reload: it is outside
/// submit's root.
struct PasswdEntries: Sendable {
    struct Account: Equatable, Sendable {
        var login: String
        /// The full name: GECOS up to its first comma, `&` as the
        /// capitalised login (passwd(5)); nil when there is none.
        var fullName: String?
    }

    private(set) var byUID: [UInt32: Account] = [:]

    init() {}

    /// The first line for a uid wins, as getpwuid(3) finds it; malformed
    /// lines and NIS `+`/`-` lines are skipped.
    init(parsing bytes: [UInt8]) {
        for line in bytes.split(separator: 0x0A) {
            let fields = line.split(separator: 0x3A, omittingEmptySubsequences: false)
            guard fields.count >= 5, let name = String(validating: fields[0], as: UTF8.self),
                !name.isEmpty, name.count <= 64, !name.hasPrefix("+"), !name.hasPrefix("-"),
                (try? EnvelopeField.validate(name, field: "user", limit: 64)) != nil,
                let uidText = String(validating: fields[2], as: UTF8.self), let uid = UInt32(uidText),
                byUID[uid] == nil
            else { continue }
            let gecos = String(decoding: fields[4], as: UTF8.self)
            byUID[uid] = Account(login: name, fullName: OriginatorFields.fullName(gecos: gecos, login: name))
        }
    }

    func account(uid: UInt32) -> Account? { byUID[uid] }
}
