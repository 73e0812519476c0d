/// The process roles whose lines the review reads: the tags Postern logs
/// under (`postern/ROLE[PID]:`). The same names as `Role` in PosternCore
/// (a test checks it), kept here so that this library stands alone.
public enum ProcessRole: String, CaseIterable, Codable, Sendable, Comparable {
    case master
    case listener
    case lookup
    case queue
    case local
    case localWorker = "local-worker"
    case relay
    case submit

    /// Known names only: a tag with any other role is no Postern record.
    /// Compared in place: this runs once per line.
    init?(bytes: UnsafeBufferPointer<UInt8>) {
        for (role, name) in ProcessRole.names where name.count == bytes.count {
            if name.elementsEqual(bytes) {
                self = role
                return
            }
        }
        return nil
    }

    private static let names: [(ProcessRole, [UInt8])] = allCases.map { ($0, Array($0.rawValue.utf8)) }

    /// The role's place in `allCases`, for per-role arrays.
    var ordinal: Int {
        switch self {
        case .master: return 0
        case .listener: return 1
        case .lookup: return 2
        case .queue: return 3
        case .local: return 4
        case .localWorker: return 5
        case .relay: return 6
        case .submit: return 7
        }
    }

    /// The report's order: the order the master starts them in, roughly.
    public static func < (a: ProcessRole, b: ProcessRole) -> Bool {
        a.ordinal < b.ordinal
    }
}
