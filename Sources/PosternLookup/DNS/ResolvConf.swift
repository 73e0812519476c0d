import Glibc

/// Reads the `nameserver` lines of /etc/resolv.conf. The lookup process
/// reads the file before it chroots (there is none inside its root), so
/// this is only a parser; everything but `nameserver` is ignored.
public enum ResolvConf {
    /// glibc's MAXNS: a resolver that honours more would only multiply the
    /// time a dead network takes to fail.
    public static let maximumServers = 3

    /// Valid IPv4 and IPv6 literals, in file order, at most three. A
    /// `%scope` suffix is dropped (link-local servers are not supported). An
    /// empty result is the caller's to handle; glibc would fall back to
    /// 127.0.0.1.
    public static func parse(_ text: String) -> [DNSServer] {
        var servers: [DNSServer] = []
        for line in text.split(whereSeparator: { $0 == "\n" || $0 == "\r" }) {
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard words.count >= 2, words[0] == "nameserver" else { continue }
            var host = words[1]
            if let percent = host.firstIndex(of: "%") { host = host[..<percent] }
            guard IPAddressText.parse(String(host)) != nil else { continue }
            servers.append(DNSServer(host: String(host)))
            if servers.count == maximumServers { break }
        }
        return servers
    }
}
