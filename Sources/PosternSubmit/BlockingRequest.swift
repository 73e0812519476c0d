import NIOConcurrencyHelpers
import PosternIPC

/// A request to a peer answered on the caller's thread: submit serves each
/// sendmail connection on a thread of its own, which may simply wait for
/// the lookup's and the queue's answers (NIO's condition lock: the waiter
/// sleeps until the answer is there).
enum BlockingRequest {
    static func ask(
        _ channel: IPCChannel?, _ message: IPCMessage, timeout: Double
    ) -> Result<Frame, IPCError> {
        guard let channel else { return .failure(.closed) }
        let answer = NIOLockedValueBox<Result<Frame, IPCError>?>(nil)
        let arrived = ConditionLock(value: false)
        channel.request(message, timeout: timeout) { result in
            answer.withLockedValue { $0 = result }
            arrived.lock()
            arrived.unlock(withValue: true)
        }
        arrived.lock(whenValue: true)
        arrived.unlock()
        return answer.withLockedValue { $0 } ?? .failure(.closed)
    }
}
