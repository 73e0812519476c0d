import PosternIPC

/// Why no worker could be started for a key; the part that wanted it is
/// answered with `outcome`.
enum WorkerSpawnFailure: Error, Equatable {
    /// The user is not in the passwd file.
    case unknownUser
    /// A file delivery would run as root: files are never written as
    /// root, whatever an alias says.
    case fileDeliveryAsRoot
    /// The socketpair, the spawn or the first frame failed (the reason is
    /// logged): a temporary failure.
    case cannotStart(reason: String)

    var outcome: (status: RecipientOutcome.Status, text: String) {
        switch self {
        case .unknownUser: return (.failed, "5.1.1 user unknown")
        case .fileDeliveryAsRoot: return (.failed, "5.7.1 file deliveries do not run as root")
        case .cannotStart: return (.deferred, "4.3.0 cannot start delivery worker")
        }
    }
}
