import CSASL
import Glibc

/// What one call into a server connection came to.
enum SASLStepResult: Equatable, Sendable {
    /// More to do: send this challenge (possibly empty) to the client.
    case challenge([UInt8])
    /// Authenticated; the canonical user name (SASL_USERNAME).
    case success(user: String)
    /// Cyrus's result code, the user name if Cyrus got that far (for the
    /// log), and its error detail.
    case failure(code: Int32, user: String?, detail: String)
}

/// One Cyrus `sasl_conn_t`: one authentication exchange. Owned by exactly
/// one thread at a time (the authenticator's serial queue); disposed when
/// the object goes away, whatever way the exchange ended.
final class SASLConnection {
    private var conn: OpaquePointer?

    /// A server connection for service "smtp" on `hostname`, with no user
    /// realm: Cyrus then uses `hostname` as the default realm, so a login
    /// `alice` is looked up in the sasldb as `alice@hostname` and the
    /// canonical user name stays `alice` (`alice@hostname` also logs in,
    /// under that name). saslauthd is asked for `alice` with an empty
    /// realm; its back ends (PAM, shadow) need none.
    init(hostname: String) throws(SASLError) {
        var created: OpaquePointer?
        let code = sasl_server_new("smtp", hostname, nil, nil, nil, nil, 0, &created)
        guard code == SASL_OK, let created else {
            if created != nil { sasl_dispose(&created) }
            throw .connection(code: code, detail: String(cString: sasl_errstring(code, nil, nil)))
        }
        conn = created
        // Never ANONYMOUS: a mechanism that takes no password is no login.
        var properties = sasl_security_properties_t(
            min_ssf: 0, max_ssf: 0, maxbufsize: 0, security_flags: UInt32(SASL_SEC_NOANONYMOUS),
            property_names: nil, property_values: nil)
        _ = sasl_setprop(created, SASL_SEC_PROPS, &properties)
    }

    deinit {
        if conn != nil { sasl_dispose(&conn) }
    }

    /// The mechanisms this connection could run (sasl_listmech).
    func availableMechanisms() -> [String] {
        var list: UnsafePointer<CChar>?
        var length: UInt32 = 0
        var count: Int32 = 0
        guard sasl_listmech(conn, nil, "", " ", "", &list, &length, &count) == SASL_OK, let list else { return [] }
        return String(cString: list).split(separator: " ").map(String.init)
    }

    /// `initialResponse` nil: the client sent none; empty: it sent "=".
    func start(mechanism: String, initialResponse: [UInt8]?) -> SASLStepResult {
        var output: UnsafePointer<CChar>?
        var outputLength: UInt32 = 0
        let code = Self.withInput(initialResponse) { input, length in
            sasl_server_start(conn, mechanism, input, length, &output, &outputLength)
        }
        return result(code, output, outputLength)
    }

    func step(response: [UInt8]) -> SASLStepResult {
        var output: UnsafePointer<CChar>?
        var outputLength: UInt32 = 0
        let code = Self.withInput(response) { input, length in
            sasl_server_step(conn, input, length, &output, &outputLength)
        }
        return result(code, output, outputLength)
    }

    private func result(_ code: Int32, _ output: UnsafePointer<CChar>?, _ length: UInt32) -> SASLStepResult {
        switch code {
        case SASL_CONTINUE:
            guard let output, length > 0 else { return .challenge([]) }
            return .challenge(Array(UnsafeRawBufferPointer(start: output, count: Int(length))))
        case SASL_OK:
            guard let user = property(SASL_USERNAME), !user.isEmpty else {
                return .failure(code: SASL_FAIL, user: nil, detail: "no user name after success")
            }
            return .success(user: user)
        default:
            let detail = sasl_errdetail(conn).map { String(cString: $0) } ?? ""
            return .failure(code: code, user: property(SASL_USERNAME) ?? property(SASL_AUTHUSER), detail: detail)
        }
    }

    private func property(_ name: Int32) -> String? {
        var value: UnsafeRawPointer?
        guard sasl_getprop(conn, name, &value) == SASL_OK, let value else { return nil }
        return String(cString: value.assumingMemoryBound(to: CChar.self))
    }

    /// Cyrus tells "no initial response" (NULL) from an empty one (a
    /// non-NULL pointer, length 0); an empty Swift array has no address,
    /// so an empty input gets a one-byte buffer of its own.
    private static func withInput(
        _ bytes: [UInt8]?, _ body: (UnsafePointer<CChar>?, UInt32) -> Int32
    ) -> Int32 {
        guard let bytes else { return body(nil, 0) }
        if bytes.isEmpty {
            var empty: CChar = 0
            return body(&empty, 0)
        }
        return bytes.withUnsafeBytes { raw in
            body(raw.baseAddress?.assumingMemoryBound(to: CChar.self), UInt32(raw.count))
        }
    }
}
