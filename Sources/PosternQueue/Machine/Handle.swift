/// Something of the driver's that the machine carries without ever using
/// it: the channel a request came on, the connection a control command
/// waits on. Compared by identity, so that an upload belongs to one
/// channel and a listener that goes away takes only its own uploads with
/// it; the driver gets its object back with a conditional cast.
struct Handle: Hashable, Sendable {
    let object: any AnyObject & Sendable

    init(_ object: any AnyObject & Sendable) { self.object = object }

    static func == (a: Handle, b: Handle) -> Bool { a.object === b.object }

    func hash(into hasher: inout Hasher) { hasher.combine(ObjectIdentifier(object)) }
}

/// One request waiting for its answer: the channel it came on and its id.
struct Requester: Equatable, Sendable {
    var peer: Handle
    var requestID: UInt32
}
