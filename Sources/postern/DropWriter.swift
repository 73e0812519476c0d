import Glibc
import LocalSubmission
import PosternCore

/// Writes the message on stdin into the drop directory: created with
/// O_EXCL under an unguessable name, mode 0600 while it is written, fsynced,
/// then 0644 (complete) and fsynced again — so a file the daemon sees
/// complete is whole on disk, and is kept if the daemon is down.
enum DropWriter {
    enum Failure: Error, CustomStringConvertible {
        /// The message itself is refused (EX_DATAERR).
        case data(SubmissionReaderError)
        /// The drop directory could not take it (EX_TEMPFAIL).
        case system(String)

        var description: String {
            switch self {
            case .data(let error): return "\(error)"
            case .system(let text): return text
            }
        }
    }

    /// The message on stdin (`input`) under the invocation's envelope; the
    /// file's name once it is complete.
    static func write(
        _ invocation: SendmailInvocation, config: PosternConfig, input: Int32 = 0
    ) -> Result<DropFileName, Failure> {
        create(config: config) { fd, name in
            let envelope = DropEnvelope(name: name, time: Int64(time(nil)), invocation: invocation)
            guard writeAll(fd, envelope.encoded) else { return .failure(writeFailure(config)) }
            return copy(input, into: fd, ignoreDots: invocation.ignoreDots, config: config)
        }
    }

    /// A message already in canonical form (`sendmail -bs`), with the
    /// envelope `fill` makes from the file's name.
    static func write(
        message: [UInt8], name: DropFileName, config: PosternConfig, envelope: (DropFileName) -> DropEnvelope
    ) -> Result<DropFileName, Failure> {
        create(name: name, config: config) { fd, name in
            guard writeAll(fd, envelope(name).encoded + message) else { return .failure(writeFailure(config)) }
            return .success(())
        }
    }

    /// Creates the file, has `fill` write it, then makes it durable and
    /// complete; removes it on any failure.
    private static func create(
        name given: DropFileName? = nil, config: PosternConfig, _ fill: (Int32, DropFileName) -> Result<Void, Failure>
    ) -> Result<DropFileName, Failure> {
        guard let name = given ?? newName() else { return .failure(.system("cannot make a drop file name")) }
        let path = config.dropDirectory + "/" + name.description
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            return .failure(
                .system("cannot create a file in \(config.dropDirectory): \(String(cString: strerror(errno)))"))
        }
        var result = fill(fd, name)
        if case .success = result, !(fsync(fd) == 0 && fchmod(fd, 0o644) == 0 && fsync(fd) == 0) {
            result = .failure(writeFailure(config))
        }
        if case .failure = result { unlink(path) }
        close(fd)
        return result.map { name }
    }

    /// The message on `input`, checked and made canonical as it is read.
    private static func copy(_ input: Int32, into fd: Int32, ignoreDots: Bool, config: PosternConfig)
        -> Result<Void, Failure>
    {
        var reader = SubmissionReader(ignoreDots: ignoreDots, maxMessageSize: config.maxMessageSize)
        var buffer = [UInt8](repeating: 0, count: 65_536)
        // Until the end of the input, or a lone "." (without -i); then
        // finish(), which ends a last line that has no line ending.
        var ended = false
        while !ended && !reader.isComplete {
            let n = read(input, &buffer, buffer.count)
            if n < 0 && errno == EINTR { continue }
            if n < 0 { return .failure(.system("cannot read the message: \(String(cString: strerror(errno)))")) }
            ended = n == 0
            do {
                guard writeAll(fd, try reader.consume(buffer.prefix(n))) else { return .failure(writeFailure(config)) }
            } catch {
                return .failure(.data(error))
            }
        }
        do {
            guard writeAll(fd, try reader.finish()) else { return .failure(writeFailure(config)) }
        } catch {
            return .failure(.data(error))
        }
        return .success(())
    }

    /// `U<uid>.<128 random bits>`: nobody can guess another's file.
    static func newName() -> DropFileName? {
        var generator = SystemRandomNumberGenerator()
        return DropFileName(uid: getuid(), random: (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }

    private static func writeFailure(_ config: PosternConfig) -> Failure {
        .system("cannot write to \(config.dropDirectory): \(String(cString: strerror(errno)))")
    }

    private static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return false }
            offset += n
        }
        return true
    }
}
