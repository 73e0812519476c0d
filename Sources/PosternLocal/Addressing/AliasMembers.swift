import PosternAliases
import PosternCore
import PosternIPC

/// What an alias expansion makes of a message: each destination becomes a
/// recipient the queue adds. Pipes and files named in the aliases file run
/// as `DefaultUser`; those read from an `:include:` file owned by a user run
/// as that user, as Sendmail does, so a list owner's file cannot borrow
/// anyone else's rights. Pure: the owners are looked up by the caller.
enum AliasMembers {
    struct Context {
        /// The recipient being expanded (pipes and files keep it as their
        /// address).
        var address: String
        var hostname: String
        var defaultUser: String
        /// The owner's user name of each include file that is not root's.
        var includeOwners: [String: String]
    }

    /// The members, or nil when nothing deliverable remains (every
    /// destination an unknown name): the recipient is then unknown.
    static func members(_ deliveries: [AliasDelivery], context: Context) -> (
        members: [ExpandedRecipient], unknown: [String]
    ) {
        var members: [ExpandedRecipient] = []
        var unknown: [String] = []
        for delivery in deliveries {
            let runAs = delivery.includeFile.flatMap { context.includeOwners[$0] } ?? context.defaultUser
            switch delivery.destination {
            case .localUser(let user):
                members.append(
                    ExpandedRecipient(address: user + "@" + context.hostname, localUser: user, target: .user))
            case .remote(let address):
                members.append(ExpandedRecipient(address: address, localUser: "", target: .name))
            case .pipe(let command):
                members.append(ExpandedRecipient(address: context.address, localUser: runAs, target: .pipe(command)))
            case .file(let path), .maildir(let path):
                members.append(ExpandedRecipient(address: context.address, localUser: runAs, target: .file(path)))
            case .unknown(let name):
                unknown.append(name)
            }
        }
        return (members, unknown)
    }
}
