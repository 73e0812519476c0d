import Glibc
import PosternCore
import PosternIPC

/// Writing a notice the machine decided on: the original's start is read
/// from the spool, the notice composed under a fresh queue id, written and
/// committed durably like a message from a client.
extension QueueService {
    func writeNotice(_ order: NoticeOrder) -> NoticeWriteResult {
        let original = readOriginal(order.about.queueID, prefix: order.composer.maxReturnedSize + 1)
        let created: (id: QueueID, fd: Int32)
        do {
            created = try spool.createData()
        } catch {
            return .notCreated(error)
        }
        defer { close(created.fd) }
        let message: DSNMessage
        do {
            message = try order.composer.compose(
                order.notice, about: order.about, timing: order.timing, queueID: created.id, original: original)
        } catch {
            spool.abort(created.id)
            return .notComposed(error)
        }
        let notification = order.envelope(queueID: created.id, message: message)
        do throws(SpoolError) {
            guard Spool.writeAll(created.fd, message.bytes) == nil else {
                throw SpoolError.system(operation: "write", name: created.id.value, errno: errno)
            }
            try spool.commit(notification, dataFD: created.fd)
        } catch {
            spool.abort(created.id)
            return .notQueued(error)
        }
        return .queued(notification)
    }

    /// The start of the original message (at most `prefix` bytes) and its
    /// size; an unreadable data file gives an empty original, not no notice.
    private func readOriginal(_ id: QueueID, prefix: Int) -> DSNOriginalMessage {
        guard let fd = try? spool.openDataReadOnly(id) else { return DSNOriginalMessage(bytes: []) }
        defer { close(fd) }
        var info = stat()
        let total = fstat(fd, &info) == 0 ? Int(info.st_size) : 0
        var bytes = [UInt8](repeating: 0, count: min(prefix, max(total, 0)))
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeMutableBytes { buffer -> Int in
                guard let base = buffer.baseAddress else { return -1 }
                return pread(fd, base + offset, buffer.count - offset, off_t(offset))
            }
            if n <= 0 { break }
            offset += n
        }
        return DSNOriginalMessage(prefix: Array(bytes[..<offset]), totalSize: total)
    }
}
