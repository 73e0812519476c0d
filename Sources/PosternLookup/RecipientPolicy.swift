import PosternCore
import PosternIPC

/// Decides whether a RCPT address is a local mailbox. Pure: the tables in,
/// an answer out. Relaying is never allowed here (the access map and
/// authentication come later); an address outside the local domains is
/// refused as relaying.
struct RecipientPolicy {
    var localDomains: [String]
    var users: Set<String>

    init(localDomains: [String], users: Set<String>) {
        self.localDomains = localDomains.map { $0.lowercased() }
        self.users = users
    }

    func decide(_ address: String) -> IPCMessage {
        let local: Substring
        if let at = address.lastIndex(of: "@") {
            let domain = address[address.index(after: at)...].lowercased()
            guard localDomains.contains(domain) else {
                return .rejected(ReplyStatus(code: 550, enhanced: "5.7.1", text: "<\(address)>: Relaying denied"))
            }
            local = address[..<at]
        } else {
            local = Substring(address)
        }
        if let user = resolve(String(local)) { return .recipientAccepted(localUser: user) }
        return .rejected(
            ReplyStatus(code: 550, enhanced: "5.1.1", text: "<\(address)>: Recipient address rejected: User unknown"))
    }

    /// A user name as the passwd file has it; the special addresses that
    /// must always resolve go to root until aliases say otherwise.
    private func resolve(_ local: String) -> String? {
        let lower = local.lowercased()
        if lower == "postmaster" || lower == "mailer-daemon" { return users.contains("root") ? "root" : nil }
        if users.contains(local) { return local }
        if users.contains(lower) { return lower }
        return nil
    }
}

/// Reads user names out of /etc/passwd text, skipping anything malformed.
enum PasswdFile {
    static func userNames(_ bytes: [UInt8]) -> Set<String> {
        var names = Set<String>()
        for line in bytes.split(separator: 0x0A) {
            guard let colon = line.firstIndex(of: 0x3A), colon > line.startIndex else { continue }
            let name = line[line.startIndex..<colon]
            guard name.count <= 64, name.first != 0x2B, name.first != 0x2D,
                let text = String(validating: name, as: UTF8.self),
                (try? EnvelopeField.validate(text, field: "user", limit: 64)) != nil
            else { continue }
            names.insert(text)
        }
        return names
    }
}
