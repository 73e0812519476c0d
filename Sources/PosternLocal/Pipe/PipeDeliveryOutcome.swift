import PosternIPC

/// The result of one `|command` delivery, in the shape the queue takes:
/// a status and a text that starts with the enhanced status code.
public struct PipeDeliveryOutcome: Equatable, Sendable {
    public let status: RecipientOutcome.Status
    /// RFC 3463 code, e.g. "2.0.0", "4.3.0", "5.1.1".
    public let enhancedStatus: String
    /// One line of ASCII, without the code.
    public let detail: String

    /// `enhancedStatus detail`, as `RecipientOutcome.text` carries it.
    public var text: String { enhancedStatus + " " + detail }

    init(status: RecipientOutcome.Status, enhancedStatus: String, detail: String) {
        self.status = status
        self.enhancedStatus = enhancedStatus
        self.detail = detail
    }

    static func delivered(_ detail: String) -> Self {
        Self(status: .delivered, enhancedStatus: "2.0.0", detail: detail)
    }

    static func deferred(_ code: String, _ detail: String) -> Self {
        Self(status: .deferred, enhancedStatus: code, detail: detail)
    }

    static func failed(_ code: String, _ detail: String) -> Self {
        Self(status: .failed, enhancedStatus: code, detail: detail)
    }

    /// A refused command ran nothing; smrsh's answer, as a permanent failure.
    static func refused(_ refusal: SmrshRefusal) -> Self {
        .failed("5.7.1", refusal.explanation)
    }
}
