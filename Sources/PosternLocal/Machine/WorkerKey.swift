/// A worker's identity in the pool: the user, and whether it is that
/// user's SafeFileEnvironment worker (chrooted, files only). A user's two
/// kinds never share a process.
struct WorkerKey: Hashable, CustomStringConvertible {
    var user: String
    var jailed: Bool

    var description: String { jailed ? "\(user) (SafeFileEnvironment)" : user }
}

/// One worker process as the machine knows it, numbered when the machine
/// asks for it. A number is never reused, so that an event about a worker
/// that is gone (its last answer, its channel's end) cannot be taken for
/// news about its successor.
struct WorkerID: Hashable, Comparable, CustomStringConvertible {
    let value: UInt64

    init(_ value: UInt64) { self.value = value }

    static func < (a: WorkerID, b: WorkerID) -> Bool { a.value < b.value }

    var description: String { "w\(value)" }
}

/// One part of a delivery job (one worker key's recipients), numbered by
/// the driver, which keeps the part's completion under that number.
struct PartID: Hashable, CustomStringConvertible {
    let value: UInt64

    init(_ value: UInt64) { self.value = value }

    var description: String { "p\(value)" }
}
