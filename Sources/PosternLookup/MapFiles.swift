import Glibc
import Logging
import PosternCore

/// The map files the lookup reads from its root (the configuration
/// directory): text, no makemap step, re-read on every reload.
enum MapFiles {
    static let maxSize = 16 << 20

    /// The file's text; nil when it does not exist (an absent map is empty).
    static func read(_ path: String, logger: Logger) -> String? {
        switch MapFileReader.read(path, limit: maxSize) {
        case .success(let contents):
            if contents.lossy { logger.warning("\(path) is not all UTF-8; invalid bytes replaced") }
            return contents.text
        case .failure(let failure):
            if failure.errno != ENOENT { logger.error("cannot read \(failure); ignored") }
            return nil
        }
    }
}
