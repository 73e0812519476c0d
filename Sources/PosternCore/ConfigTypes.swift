#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One problem found in `postern.conf`. The text is `FILE:LINE: reason`, the
/// form editors and `grep -n` users already know, so an operator can jump to
/// the line. Line 0 means the file as a whole (it could not be read) or a
/// default value that does not fit this system.
public struct ConfigError: Error, Equatable, Sendable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var reason: String

    public init(file: String, line: Int, reason: String) {
        self.file = file
        self.line = line
        self.reason = reason
    }

    public var description: String { "\(file):\(line): \(reason)" }
}

/// Every problem in a configuration file, in the order found. The loader does
/// not stop at the first one: an operator fixing a file wants the whole list
/// from one `postern check`, not one error per run.
public struct ConfigErrors: Error, Equatable, Sendable, CustomStringConvertible {
    public var errors: [ConfigError]

    public init(_ errors: [ConfigError]) { self.errors = errors }

    /// One error per line, ready for stderr.
    public var description: String { errors.map(\.description).joined(separator: "\n") }
}

/// Why one value did not parse, without the file and line: the value parsers
/// do not know where the text came from, the loader adds that. Public so that
/// other front ends (command-line flags) can reuse the same parsers.
public struct ConfigValueError: Error, Equatable, Sendable {
    public var reason: String
    public init(_ reason: String) { self.reason = reason }
}

/// A socket the master binds and hands to the listener.
public struct ListenAddress: Hashable, Sendable, CustomStringConvertible {
    /// A dotted quad, or an IPv6 address in the canonical text form of
    /// inet_ntop (so that two spellings of one address compare equal).
    public var host: String
    public var port: UInt16
    public var isIPv6: Bool

    public init(host: String, port: UInt16, isIPv6: Bool) {
        self.host = host
        self.port = port
        self.isIPv6 = isIPv6
    }

    /// `127.0.0.1:2525` or `[::1]:2525`: the form the file takes.
    public var description: String { isIPv6 ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// Parses `A.B.C.D:PORT` or `[IPv6]:PORT`. Host names are not accepted:
    /// the master binds before any resolver is trusted, and a name that
    /// resolves differently tomorrow would silently move the listener.
    public static func parse(_ text: String) throws(ConfigValueError) -> ListenAddress {
        let usage = "\(ConfigText.quoted(text)) is not ADDR:PORT (an IPv4 dotted quad, or [IPv6])"
        guard let colon = text.utf8.lastIndex(of: UInt8(ascii: ":")) else { throw ConfigValueError(usage) }
        let hostPart = String(text[..<colon])
        let portPart = String(text[text.index(after: colon)...])
        guard let port = parsePort(portPart) else {
            throw ConfigValueError("\(ConfigText.quoted(text)): port must be a number from 1 to 65535")
        }
        if hostPart.hasPrefix("[") {
            guard hostPart.hasSuffix("]"), hostPart.utf8.count > 2 else { throw ConfigValueError(usage) }
            let inner = String(hostPart.dropFirst().dropLast())
            guard let canonical = canonicalIPv6(inner) else {
                throw ConfigValueError("\(ConfigText.quoted(text)): \(ConfigText.quoted(inner)) is not an IPv6 address")
            }
            return ListenAddress(host: canonical, port: port, isIPv6: true)
        }
        guard isDottedQuad(hostPart) else {
            throw ConfigValueError(usage)
        }
        return ListenAddress(host: hostPart, port: port, isIPv6: false)
    }

    /// Decimal digits only, 1...65535: no sign, no service names.
    static func parsePort(_ text: String) -> UInt16? {
        guard !text.isEmpty, text.utf8.count <= 5, text.utf8.allSatisfy(ConfigText.isDigit),
            let value = Int(text), (1...65535).contains(value)
        else { return nil }
        return UInt16(value)
    }

    /// Four decimal octets 0...255 without leading zeros: `010` is octal to
    /// inet_aton and decimal to a reader, so it is refused rather than guessed.
    static func isDottedQuad(_ text: String) -> Bool {
        let parts = text.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard parts.count == 4 else { return false }
        for part in parts {
            guard !part.isEmpty, part.count <= 3, part.allSatisfy(ConfigText.isDigit) else { return false }
            if part.count > 1 && part.first == UInt8(ascii: "0") { return false }
            var value = 0
            for digit in part { value = value * 10 + Int(digit - UInt8(ascii: "0")) }
            if value > 255 { return false }
        }
        return true
    }

    /// inet_pton decides what an IPv6 address is (the kernel will agree with
    /// it at bind time); inet_ntop gives the one canonical spelling.
    static func canonicalIPv6(_ text: String) -> String? {
        guard text.utf8.allSatisfy({ ConfigText.isHexDigit($0) || $0 == UInt8(ascii: ":") || $0 == UInt8(ascii: ".") })
        else { return nil }
        var address = in6_addr()
        guard inet_pton(AF_INET6, text, &address) == 1 else { return nil }
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        let written = buffer.withUnsafeMutableBufferPointer { out in
            inet_ntop(AF_INET6, &address, out.baseAddress, socklen_t(out.count - 1))
        }
        guard written != nil else { return nil }
        let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        return String(decoding: bytes, as: UTF8.self)
    }
}

extension ConfigValue {
    /// DNS servers separated by commas or blanks, each `ADDR[:PORT]`: a bare
    /// address (an IPv6 one unbracketed too) means port 53.
    static func resolvers(_ text: String) throws(ConfigValueError) -> [ListenAddress] {
        var servers: [ListenAddress] = []
        for item in text.split(whereSeparator: { $0 == "," || $0 == " " }) {
            let text = String(item)
            let withPort =
                text.contains(":") && !text.hasPrefix("[") && text.split(separator: ":").count > 2
                ? "[\(text)]:53" : (text.contains(":") ? text : "\(text):53")
            servers.append(try ListenAddress.parse(withPort))
        }
        return servers
    }
}

/// The syslog facilities Postern may log under; mail is the norm, the others
/// let a site split Postern's log from another MTA's.
public enum LogFacility: String, CaseIterable, Sendable {
    case mail, daemon
    case local0, local1, local2, local3, local4, local5, local6, local7

    /// The value for openlog(3).
    public var value: Int32 {
        switch self {
        case .mail: return LOG_MAIL
        case .daemon: return LOG_DAEMON
        case .local0: return LOG_LOCAL0
        case .local1: return LOG_LOCAL1
        case .local2: return LOG_LOCAL2
        case .local3: return LOG_LOCAL3
        case .local4: return LOG_LOCAL4
        case .local5: return LOG_LOCAL5
        case .local6: return LOG_LOCAL6
        case .local7: return LOG_LOCAL7
        }
    }
}
