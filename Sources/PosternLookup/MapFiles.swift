import Glibc
import Logging

/// The map files the lookup reads from its root (the configuration
/// directory): text, no makemap step, re-read on every reload.
enum MapFiles {
    static let maxSize = 16 << 20

    /// The file's text; nil when it does not exist (an absent map is empty).
    static func read(_ path: String, logger: Logger) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else {
            if errno != ENOENT { logger.error("cannot read \(path): \(String(cString: strerror(errno)))") }
            return nil
        }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while bytes.count <= maxSize {
            let n = Glibc.read(fd, &chunk, chunk.count)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            bytes.append(contentsOf: chunk[0..<n])
        }
        guard bytes.count <= maxSize else {
            logger.error("\(path) is larger than \(maxSize) bytes; ignored")
            return nil
        }
        // A stray Latin-1 byte must cost only its line, not the whole map:
        // invalid bytes become U+FFFD, which no key or action contains.
        guard let text = String(validating: bytes, as: UTF8.self) else {
            logger.warning("\(path) is not all UTF-8; invalid bytes replaced")
            return String(decoding: bytes, as: UTF8.self)
        }
        return text
    }
}
