import Logging
import PosternIPC

/// What `WorkerPoolMachine` asks its driver to do, in order. The machine
/// has already updated its own state for each; an action whose outcome
/// matters is answered with the event named in its comment.
enum WorkerPoolAction: Equatable {
    /// Start a worker for this key; answered by `workerSpawned` or
    /// `workerNotSpawned`.
    case spawn(WorkerID, WorkerKey)
    /// Hand the part to the worker, with the message's descriptor;
    /// answered by `jobAnswered`.
    case send(WorkerID, LocalPart)
    /// The part is done: these are its recipients' outcomes.
    case complete(PartID, [RecipientOutcome])
    /// Shut the worker's channel: it exits once it reads the end (an idle
    /// one at once). Answered by `workerClosed`.
    case close(WorkerID)
    /// SIGKILL the worker and shut its channel (a hung or misbehaving
    /// worker). Answered by `workerClosed`.
    case kill(WorkerID)
    /// Write this line to the log.
    case log(WorkerPoolLogLine)
}

/// A log line as a value: the level and the text.
struct WorkerPoolLogLine: Equatable {
    var level: Logger.Level
    var text: String

    static func info(_ text: String) -> WorkerPoolLogLine { WorkerPoolLogLine(level: .info, text: text) }

    static func error(_ text: String) -> WorkerPoolLogLine { WorkerPoolLogLine(level: .error, text: text) }
}
