import Glibc

/// Whether Cyrus could seed its nonces itself. Cyrus gives every
/// `sasl_conn_t` its own random pool and fills it lazily, by opening
/// /dev/urandom by name the first time a mechanism draws from it
/// (lib/saslutil.c: `randinit` → `getranddata`; seen with strace at every
/// CRAM-MD5 and SCRAM start). When the open fails it silently seeds from
/// the pid and the clock, and the CRAM-MD5 challenge and SCRAM server
/// nonce become guessable. Seeding before the chroot cannot help, as each
/// connection has a fresh pool: the lookup seeds each connection's pool
/// from getrandom instead (CSASLShims/sasl_seeding.c). This check is the safety net for
/// a mechanism that could not be wrapped: inside a root without
/// /dev/urandom it is not offered unless it draws no server nonce.
enum SASLRandomSource {
    static let path = "/dev/urandom"
    /// Mechanisms whose server side makes no nonce.
    static let nonceFreeMechanisms: Set<String> = ["PLAIN", "LOGIN"]

    /// True when /dev/urandom opens and reads as Cyrus would do it.
    static func isAvailable() -> Bool {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var byte: UInt8 = 0
        return read(fd, &byte, 1) == 1
    }
}
