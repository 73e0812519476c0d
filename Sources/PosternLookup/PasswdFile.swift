import PosternCore

/// Reads user names out of /etc/passwd text, skipping anything malformed
/// and the NIS `+`/`-` lines. The file arrives as a descriptor from the
/// master: it is outside the lookup's root.
enum PasswdFile {
    static func userNames(_ bytes: [UInt8]) -> Set<String> {
        var names = Set<String>()
        for line in bytes.split(separator: 0x0A) {
            guard let colon = line.firstIndex(of: 0x3A), colon > line.startIndex else { continue }
            let name = line[line.startIndex..<colon]
            guard name.count <= 64, name.first != 0x2B, name.first != 0x2D,
                let text = String(validating: name, as: UTF8.self),
                (try? EnvelopeField.validate(text, field: "user", limit: 64)) != nil
            else { continue }
            names.insert(text)
        }
        return names
    }
}
