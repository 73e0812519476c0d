/// A file delivery's target, as a path inside the SafeFileEnvironment jail.
///
/// Sendmail chroots into SafeFileEnvironment before opening a delivery file
/// and first strips the jail directory off the front of the name, so that
/// both `/var/mailjail/archive/list` and `/archive/list` mean the same file
/// in the jail. The same rule applies here, component-wise (a jail of
/// `/var/mailjail` does not strip `/var/mailjailbreak/x`), and stricter
/// where Sendmail leaves things to the chroot: `..` is refused anywhere,
/// since the file is reached from a directory descriptor, not a chroot;
/// control bytes are refused because they have no business in a file name
/// from an alias and could forge log lines.
///
/// `/dev/null` is the caller's to recognise first (`isDevNull`): it is not
/// inside the jail, and delivering to it succeeds without writing.
public struct SafeFilePath: Equatable, Sendable {
    /// The names from the jail's root to the file, none empty, `.` or `..`;
    /// at least one.
    public let components: [String]

    /// Longest name the kernel accepts in one component (NAME_MAX).
    static let maximumComponentLength = 255

    /// - Parameters:
    ///   - target: the path as written in the alias or `.forward`.
    ///   - jail: the SafeFileEnvironment directory; "/" strips nothing.
    public init(target: String, jail: String) throws(SafeFileError) {
        let targetParts = try Self.parts(of: target, what: "file")
        let jailParts = try Self.parts(of: jail, what: "SafeFileEnvironment")
        var inside = targetParts[...]
        if !jailParts.isEmpty && targetParts.starts(with: jailParts) {
            inside = targetParts.dropFirst(jailParts.count)
        }
        guard !inside.isEmpty else {
            throw .invalidPath(reason: "\(Self.quoted(target)) names no file inside the SafeFileEnvironment")
        }
        components = Array(inside)
    }

    /// The one destination delivered to outside the jail: nothing is
    /// written and the delivery succeeds.
    public static func isDevNull(_ target: String) -> Bool {
        target == "/dev/null"
    }

    /// The path inside the jail, for logs: "/archive/list".
    public var description: String { "/" + components.joined(separator: "/") }

    /// Splits an absolute path into its real components.
    private static func parts(of path: String, what: String) throws(SafeFileError) -> [String] {
        let bytes = Array(path.utf8)
        guard bytes.first == UInt8(ascii: "/") else {
            throw .invalidPath(reason: "\(what) path \(quoted(path)) is not absolute")
        }
        guard !bytes.contains(where: { $0 < 0x20 || $0 == 0x7F }) else {
            throw .invalidPath(reason: "\(what) path \(quoted(path)) contains a control character")
        }
        var parts: [String] = []
        for part in bytes.split(separator: UInt8(ascii: "/")) {
            if part.elementsEqual(".".utf8) { continue }
            guard !part.elementsEqual("..".utf8) else {
                throw .invalidPath(reason: "\(what) path \(quoted(path)) contains \"..\"")
            }
            guard part.count <= maximumComponentLength else {
                throw .invalidPath(reason: "\(what) path \(quoted(path)) has a name longer than 255 bytes")
            }
            parts.append(String(decoding: part, as: UTF8.self))
        }
        return parts
    }

    /// Escaped and bounded, for a DSN or a log line.
    private static func quoted(_ path: String) -> String {
        let shown = path.utf8.count <= 200 ? path : String(decoding: path.utf8.prefix(200), as: UTF8.self) + "..."
        return shown.debugDescription
    }
}
