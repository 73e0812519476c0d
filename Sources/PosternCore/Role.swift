/// The process roles of a running Postern. What each may touch is in its
/// manifest (`RoleManifest`), at the top of the role's own file.
public enum Role: String, CaseIterable, Sendable {
    case master
    case listener
    case lookup
    case queue
    case local
    case relay
    /// Local submission: the sendmail command's socket and the drop directory.
    case submit
    /// A per-recipient-user delivery process spawned by `local`.
    case localWorker = "local-worker"

    /// The argument that marks a re-executed child (never typed by a user).
    public static let childArgument = "__child"
}
