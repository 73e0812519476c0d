/// Listen's row: the one option that repeats. Each line adds a socket (the
/// first replaces the default), with the kind of SMTP it speaks; the kinds
/// are stored beside the addresses, so the row reads, compares and copies
/// both.
extension ConfigOption {
    static let listen = ConfigOption(
        rawValue: "Listen", keyPath: \PosternConfig.listen, isRepeatable: true, restart: .listen,
        apply: { value, line, parser throws(ConfigValueErrors) in
            do throws(ConfigValueError) {
                try parser.addListen(value, line: line)
            } catch {
                throw ConfigValueErrors(error)
            }
        },
        render: { config in
            config.listen.map { address in
                let kind = config.kind(of: address)
                return kind == .smtp ? address.description : "\(address) \(kind.rawValue)"
            }
        },
        defaultProblem: { _ in nil },
        sameValue: { $0.listen == $1.listen && $0.listenKinds == $1.listenKinds },
        copyValue: { source, target in
            target.listen = source.listen
            target.listenKinds = source.listenKinds
        })
}

extension ConfigParser {
    /// One Listen line: `ADDR:PORT [KIND]`, an address not listed before.
    mutating func addListen(_ value: String, line: Int) throws(ConfigValueError) {
        let words = value.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard (1...2).contains(words.count) else {
            throw ConfigValueError("\(ConfigText.quoted(value)) is not ADDR:PORT [smtp|submission|submissions]")
        }
        let address = try ListenAddress.parse(words[0])
        let kind = words.count == 2 ? ListenKind.parse(words[1]) : .smtp
        guard let kind else {
            throw ConfigValueError(
                "\(ConfigText.quoted(words[1])) is not a listener kind (smtp, submission, submissions)")
        }
        if let earlier = listenLines[address] {
            throw ConfigValueError("\(address) is already listed on line \(earlier)")
        }
        // The first Listen line replaces the default; later ones add.
        if listenLines.isEmpty { config.listen = [] }
        listenLines[address] = line
        config.listen.append(address)
        config.listenKinds[address] = kind == .smtp ? nil : kind
    }
}
