import ArgumentParser
import Glibc
import PosternCore
import PosternListener
import PosternLocal
import PosternLookup
import PosternMaster
import PosternPrivilege
import PosternQueue
import PosternRelay
import PosternSubmit

/// A re-executed child: `postern __child ROLE LOGMODE`. Dispatched before
/// the argument parser, which should never see this hidden form.
func runChild(_ arguments: [String]) -> Never {
    guard arguments.count >= 4, let role = Role(rawValue: arguments[2]) else {
        StandardError.write("postern: bad child invocation\n")
        exit(2)
    }
    let logMode = arguments[3]
    if role == .localWorker { LocalWorkerRole.run(logMode: logMode) }
    guard let manifest = supervisedRoles.first(where: { $0.role == role }) else { exit(2) }
    let start = ChildStart.begin(manifest: manifest, logMode: logMode)
    switch role {
    case .listener: ListenerRole.run(start)
    case .lookup: LookupRole.run(start)
    case .queue: QueueRole.run(start)
    case .local: LocalRole.run(start)
    case .relay: RelayRole.run(start)
    case .submit: SubmitRole.run(start)
    case .master, .localWorker: exit(2)
    }
}

/// The roles the master spawns, in the order it starts them: the queue and
/// the lookup first, so that the listener finds its peers.
let supervisedRoles = [
    LookupRole.manifest, QueueRole.manifest, LocalRole.manifest, RelayRole.manifest, ListenerRole.manifest,
    SubmitRole.manifest,
]

let arguments = CommandLine.arguments
if arguments.count > 1 && arguments[1] == Role.childArgument {
    runChild(arguments)
}
// Sendmail's names for its commands, when installed as links to postern.
switch arguments.first.map({ String($0.split(separator: "/").last ?? "") }) {
case "newaliases": PosternCommand.main(["newaliases"] + arguments.dropFirst())
case "mailq": PosternCommand.main(["mailq"] + arguments.dropFirst())
case "sendmail": SendmailCommand.run(Array(arguments.dropFirst()))
default:
    // Sendmail's flags are not ArgumentParser's: `postern sendmail` is
    // dispatched before it.
    if arguments.count > 1 && arguments[1] == "sendmail" { SendmailCommand.run(Array(arguments.dropFirst(2))) }
    PosternCommand.main()
}
